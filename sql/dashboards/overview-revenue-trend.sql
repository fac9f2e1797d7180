-- Revenue and orders per day or week ({grain:String} = 'day' | 'week'), with the previous period's
-- revenue shifted forward by the period's length so the two lines sit on the same axis.
-- Every bucket of the range is present (zero when nothing was sold).
WITH
  {from:Date} AS d_from,
  {to:Date} AS d_to,
  dateDiff('day', d_from, d_to) + 1 AS span,
  d_from - span AS p_from,
  {grain:String} = 'week' AS weekly,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  orders AS (
    SELECT order_id, any(amount_base) AS amount, toDate(min(ts)) AS day
    FROM events_resolved
    WHERE type = 'purchase'
      AND toDate(ts) BETWEEN p_from AND d_to
      AND ({country:String} = '' OR country = {country:String})
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY order_id
  ),
  per_bucket AS (
    SELECT
      if(weekly, toMonday(shifted), shifted) AS bucket,
      sumIf(amount, cur) AS revenue,
      countIf(cur) AS orders,
      sumIf(amount, NOT cur) AS previous_revenue
    FROM (SELECT amount, day >= d_from AS cur, if(cur, day, day + span) AS shifted FROM orders)
    GROUP BY bucket
  ),
  calendar AS (
    SELECT DISTINCT if(weekly, toMonday(d_from + number), d_from + number) AS bucket
    FROM numbers(toUInt64(span))
  )
SELECT c.bucket AS bucket, round(p.revenue, 2) AS revenue, round(p.previous_revenue, 2) AS previous_revenue, p.orders AS orders
FROM calendar AS c
LEFT JOIN per_bucket AS p ON p.bucket = c.bucket
ORDER BY bucket
