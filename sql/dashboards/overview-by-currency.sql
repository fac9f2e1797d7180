-- Revenue per currency the customers paid in: in that currency and converted to the base currency.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  if(order_currency = '', '—', order_currency) AS currency,
  round(sum(base_amount), 2) AS revenue,
  round(sum(local_amount), 2) AS revenue_local,
  count() AS orders
FROM (
  SELECT order_id, any(currency) AS order_currency, any(amount) AS local_amount, any(amount_base) AS base_amount
  FROM events_resolved
  WHERE type = 'purchase'
    AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
    AND ({country:String} = '' OR country = {country:String})
    AND ({segment:String} = '' OR resolved_customer_id IN (
      SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
  GROUP BY order_id
)
GROUP BY order_currency
ORDER BY revenue DESC
