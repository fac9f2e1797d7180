-- Revenue, orders and buyers per country in [from, to], with the previous period's revenue.
WITH
  {from:Date} AS d_from,
  {to:Date} AS d_to,
  dateDiff('day', d_from, d_to) + 1 AS span,
  d_from - span AS p_from,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  if(order_country = '', '—', order_country) AS country,
  round(sumIf(amount_b, cur), 2) AS revenue,
  round(sumIf(amount_b, NOT cur), 2) AS previous_revenue,
  countIf(cur) AS orders,
  uniqExactIf(customer, cur AND customer != '') AS customers
FROM (
  SELECT order_id, any(country) AS order_country, any(resolved_customer_id) AS customer, any(amount_base) AS amount_b, toDate(min(ts)) >= d_from AS cur
  FROM events_resolved
  WHERE type = 'purchase'
    AND toDate(ts) BETWEEN p_from AND d_to
    AND ({country:String} = '' OR country = {country:String})
    AND ({segment:String} = '' OR resolved_customer_id IN (
      SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
  GROUP BY order_id
)
GROUP BY order_country
HAVING revenue > 0 OR previous_revenue > 0
ORDER BY revenue DESC
