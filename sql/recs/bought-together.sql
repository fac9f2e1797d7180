-- Frequently bought together, from order baskets (bot-free purchases only). For the pair i → j:
--   confidence = orders with both / orders with i,   lift = confidence / (orders with j / all orders).
-- Ranked by lift, not raw counts (a best-seller is in every basket without belonging to any); pairs need
-- min_orders orders so one odd basket cannot top a list. Very large baskets (wholesale, bulk re-stock)
-- say little about complementarity and cost n² pairs: baskets above max_basket lines are skipped.
INSERT INTO recs_bought_together (run_id, product_id, rank, other_id, lift, confidence, orders)
SELECT
  {run_id:String},
  i,
  row_number() OVER (PARTITION BY i ORDER BY lift DESC, confidence DESC, j ASC) AS rank,
  j,
  lift,
  confidence,
  n_ij
FROM (
  SELECT
    pr.i AS i,
    pr.j AS j,
    pr.n_ij AS n_ij,
    pr.n_ij / ci.n AS confidence,
    pr.n_ij * t.total / (ci.n * cj.n) AS lift
  FROM (
    -- Pairs by ARRAY JOIN of the basket with itself (several times faster than building tuple arrays).
    SELECT i, j, toUInt32(count()) AS n_ij
    FROM (
      SELECT items, arrayJoin(items) AS i
      FROM (
        SELECT order_id, groupUniqArray(product_id) AS items
        FROM order_items FINAL
        WHERE product_id != ''
          AND ts > {now:DateTime64(3)} - toIntervalDay({lookback_days:UInt32}) AND ts <= {now:DateTime64(3)}
          AND event_id IN (SELECT event_id FROM events_consented WHERE type = 'purchase')
        GROUP BY order_id
        HAVING length(items) BETWEEN 2 AND {max_basket:UInt32}
      )
    )
    ARRAY JOIN items AS j
    WHERE i != j
    GROUP BY i, j
    HAVING n_ij >= {min_orders:UInt32}
  ) AS pr
  INNER JOIN (
    SELECT product_id, toUInt32(count()) AS n
    FROM (
      SELECT DISTINCT order_id, product_id
      FROM order_items FINAL
      WHERE product_id != ''
        AND ts > {now:DateTime64(3)} - toIntervalDay({lookback_days:UInt32}) AND ts <= {now:DateTime64(3)}
        AND event_id IN (SELECT event_id FROM events_consented WHERE type = 'purchase')
    )
    GROUP BY product_id
  ) AS ci ON ci.product_id = pr.i
  INNER JOIN (
    SELECT product_id, toUInt32(count()) AS n
    FROM (
      SELECT DISTINCT order_id, product_id
      FROM order_items FINAL
      WHERE product_id != ''
        AND ts > {now:DateTime64(3)} - toIntervalDay({lookback_days:UInt32}) AND ts <= {now:DateTime64(3)}
        AND event_id IN (SELECT event_id FROM events_consented WHERE type = 'purchase')
    )
    GROUP BY product_id
  ) AS cj ON cj.product_id = pr.j
  CROSS JOIN (
    SELECT toUInt32(uniqExact(order_id)) AS total
    FROM order_items FINAL
    WHERE product_id != ''
      AND ts > {now:DateTime64(3)} - toIntervalDay({lookback_days:UInt32}) AND ts <= {now:DateTime64(3)}
      AND event_id IN (SELECT event_id FROM events_consented WHERE type = 'purchase')
  ) AS t
  WHERE pr.j NOT IN (SELECT product_id FROM products FINAL WHERE listed = 0 OR stock <= 0)
  ORDER BY i, lift DESC, confidence DESC, j
  LIMIT {top_k:UInt32} BY i
)
