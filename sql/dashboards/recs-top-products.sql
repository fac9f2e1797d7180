-- The 20 most clicked recommended products: times shown, clicks, click-through and the revenue they
-- influenced (bought by the clicking visitor within 7 days of the click; each order line once).
-- Per visitor in one pass over the recommendation events and one over their purchases, then per product.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  per_visitor AS (
    SELECT
      if(resolved_customer_id != '', resolved_customer_id, anonymous_id) AS visitor,
      groupArrayArrayIf(JSONExtract(props, 'product_ids', 'Array(String)'), type = 'rec_impression') AS shown,
      groupArrayIf((JSONExtractString(props, 'product_id'), ts), type = 'rec_click') AS clicks
    FROM events_resolved
    WHERE type IN ('rec_impression', 'rec_click')
      AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
      AND ({country:String} = '' OR country = {country:String})
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY visitor
  ),
  lines AS (
    SELECT o.visitor AS visitor, groupArray((oi.product_id, oi.ts, oi.price_base * oi.quantity)) AS bought
    FROM order_items AS oi FINAL
    INNER JOIN (
      SELECT order_id, any(if(resolved_customer_id != '', resolved_customer_id, anonymous_id)) AS visitor
      FROM events_resolved
      WHERE type = 'purchase' AND toDate(ts) BETWEEN {from:Date} AND {to:Date} + 7
      GROUP BY order_id
    ) AS o ON o.order_id = oi.order_id
    WHERE toDate(oi.ts) BETWEEN {from:Date} AND {to:Date} + 7
    GROUP BY visitor
  ),
  facts AS (
    -- (product, shown, clicked, revenue influenced) facts of each visitor, summed per product below
    SELECT arrayConcat(
      arrayMap(p -> (p, 1, 0, 0.), v.shown),
      arrayMap(c -> (c.1, 0, 1, 0.), v.clicks),
      arrayMap(b -> (b.1, 0, 0, b.3), arrayFilter(b -> arrayExists(c -> c.1 = b.1 AND b.2 >= c.2 AND b.2 <= c.2 + INTERVAL 7 DAY, v.clicks), l.bought))
    ) AS f
    FROM per_visitor AS v
    LEFT JOIN lines AS l ON l.visitor = v.visitor
  ),
  per_product AS (
    SELECT x.1 AS product_id, sum(x.2) AS shown, sum(x.3) AS clicks, sum(x.4) AS revenue
    FROM facts ARRAY JOIN f AS x
    GROUP BY product_id
    HAVING clicks > 0
  )
SELECT
  p.product_id AS product_id,
  pr.title AS title,
  p.shown AS shown,
  p.clicks AS clicks,
  round(p.clicks / nullIf(p.shown, 0), 4) AS ctr,
  round(p.revenue, 2) AS revenue_influenced
FROM per_product AS p
LEFT JOIN (SELECT product_id, argMax(title, updated_at) AS title FROM products GROUP BY product_id) AS pr ON pr.product_id = p.product_id
ORDER BY clicks DESC, revenue_influenced DESC, product_id
LIMIT 20
