-- RFM per known, consenting customer over a window ending at {now}, scored 1-5 by quantile rank.
-- Ties are handled consistently: rank() gives equal values the same rank, so equal values always get
-- the same score: score = 1 + min(4, floor(5 * (rank - 1) / (n - 1))), i.e. the percent rank cut into
-- five equal bands (3 when there is a single customer). Monetary is net of refunds, in the base currency.
-- Segments use R and FM = round((F + M) / 2) on the grid documented in the README.
INSERT INTO rfm_scores (run_id, customer_id, recency_days, frequency, monetary, r, f, m, segment, computed_at)
WITH
  base AS (
    SELECT
      resolved_customer_id AS customer_id,
      dateDiff('second', maxIf(ts, type = 'purchase'), {now:DateTime64(3)}) / 86400 AS recency_days,
      uniqExactIf(order_id, type = 'purchase') AS frequency,
      sumIf(amount_base, type = 'purchase') - sumIf(amount_base, type = 'refund') AS monetary
    FROM events_consented
    WHERE resolved_customer_id != ''
      AND type IN ('purchase', 'refund')
      AND ts > {now:DateTime64(3)} - toIntervalDay({window_days:UInt32})
      AND ts <= {now:DateTime64(3)}
    GROUP BY customer_id
    HAVING frequency > 0
  ),
  ranked AS (
    SELECT
      *,
      count() OVER () AS n,
      rank() OVER (ORDER BY recency_days DESC) AS r_rank,
      rank() OVER (ORDER BY frequency ASC) AS f_rank,
      rank() OVER (ORDER BY monetary ASC) AS m_rank
    FROM base
  ),
  scored AS (
    SELECT
      customer_id, recency_days, frequency, monetary,
      toUInt8(if(n = 1, 3, 1 + least(4, intDiv(5 * (r_rank - 1), n - 1)))) AS r,
      toUInt8(if(n = 1, 3, 1 + least(4, intDiv(5 * (f_rank - 1), n - 1)))) AS f,
      toUInt8(if(n = 1, 3, 1 + least(4, intDiv(5 * (m_rank - 1), n - 1)))) AS m,
      intDiv(f + m + 1, 2) AS fm
    FROM ranked
  )
SELECT
  {run_id:String}, customer_id, recency_days, frequency, monetary, r, f, m,
  multiIf(
    r = 5 AND fm >= 4, 'Champions',
    r = 5 AND fm >= 2, 'Potential Loyalist',
    r = 5, 'New',
    r = 4 AND fm >= 4, 'Loyal',
    r = 4 AND fm >= 2, 'Potential Loyalist',
    r = 4, 'Promising',
    r = 3 AND fm >= 4, 'Loyal',
    r = 3 AND fm = 3, 'Need Attention',
    r = 3, 'About to Sleep',
    fm = 5, 'Cannot Lose Them',
    fm >= 3, 'At Risk',
    r = 2, 'Hibernating',
    'Lost'
  ) AS segment,
  {now:DateTime64(3)}
FROM scored
