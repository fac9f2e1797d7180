-- Recommendation figures for [from, to] and the period before: lists shown (rec_impression), clicks
-- (rec_click), click-through, revenue influenced (a clicked product bought by the same visitor within
-- 7 days of the click, base currency, each order line once, counted in the period of its first such
-- click) and catalogue coverage (share of listed products shown at least once).
-- Per visitor in one pass over the recommendation events and one over their purchases, then summed.
WITH
  {from:Date} AS d_from,
  {to:Date} AS d_to,
  dateDiff('day', d_from, d_to) + 1 AS span,
  d_from - span AS p_from,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  (SELECT uniqExact(product_id) FROM products FINAL WHERE listed = 1) AS catalogue,
  per_visitor AS (
    SELECT
      if(resolved_customer_id != '', resolved_customer_id, anonymous_id) AS visitor,
      countIf(type = 'rec_impression' AND toDate(ts) >= d_from) AS imp,
      countIf(type = 'rec_impression' AND toDate(ts) < d_from) AS imp_p,
      countIf(type = 'rec_click' AND toDate(ts) >= d_from) AS clk,
      countIf(type = 'rec_click' AND toDate(ts) < d_from) AS clk_p,
      groupUniqArrayArrayIf(JSONExtract(props, 'product_ids', 'Array(String)'), type = 'rec_impression' AND toDate(ts) >= d_from) AS shown,
      groupUniqArrayArrayIf(JSONExtract(props, 'product_ids', 'Array(String)'), type = 'rec_impression' AND toDate(ts) < d_from) AS shown_p,
      groupArrayIf((JSONExtractString(props, 'product_id'), ts), type = 'rec_click') AS clicks
    FROM events_resolved
    WHERE type IN ('rec_impression', 'rec_click')
      AND toDate(ts) BETWEEN p_from AND d_to
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
      WHERE type = 'purchase' AND toDate(ts) BETWEEN p_from AND d_to + 7
      GROUP BY order_id
    ) AS o ON o.order_id = oi.order_id
    WHERE toDate(oi.ts) BETWEEN p_from AND d_to + 7
    GROUP BY visitor
  ),
  matched AS (
    -- per bought line: its value and the date of the first click on that product in the 7 days before it
    SELECT
      v.*,
      arrayFilter(x -> x.2 IS NOT NULL, arrayMap(b -> (b.3, if(
        arrayExists(c -> c.1 = b.1 AND b.2 >= c.2 AND b.2 <= c.2 + INTERVAL 7 DAY, v.clicks),
        toDate(arrayMin(arrayMap(c -> c.2, arrayFilter(c -> c.1 = b.1 AND b.2 >= c.2 AND b.2 <= c.2 + INTERVAL 7 DAY, v.clicks)))),
        NULL)), l.bought)) AS influenced
    FROM per_visitor AS v
    LEFT JOIN lines AS l ON l.visitor = v.visitor
  ),
  totals AS (
    SELECT
      sum(imp) AS imp, sum(imp_p) AS imp_p, sum(clk) AS clk, sum(clk_p) AS clk_p,
      uniqExactArray(shown) AS shown_n, uniqExactArray(shown_p) AS shown_pn,
      sum(arraySum(x -> if(x.2 >= d_from, x.1, 0), influenced)) AS rev,
      sum(arraySum(x -> if(x.2 < d_from, x.1, 0), influenced)) AS rev_p,
      sum(arrayCount(x -> x.2 >= d_from, influenced)) AS lines_n,
      sum(arrayCount(x -> x.2 < d_from, influenced)) AS lines_p
    FROM matched
  )
SELECT f.1 AS metric, f.2 AS value, f.3 AS previous
FROM totals
ARRAY JOIN [
  ('impressions', toFloat64(imp), toFloat64(imp_p)),
  ('clicks', toFloat64(clk), toFloat64(clk_p)),
  ('ctr', if(imp = 0, nan, clk / imp), if(imp_p = 0, nan, clk_p / imp_p)),
  ('revenue_influenced', toFloat64(rev), toFloat64(rev_p)),
  ('lines_influenced', toFloat64(lines_n), toFloat64(lines_p)),
  ('coverage', if(catalogue = 0, nan, shown_n / catalogue), if(catalogue = 0, nan, shown_pn / catalogue))
] AS f
