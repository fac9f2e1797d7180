-- Overview key figures for [from, to] next to the same-length period just before it.
-- Revenue is gross purchases in the base currency (refunds shown apart), one amount per order_id.
-- Active customers: known customers with an order in the period. Repeat-purchase rate: share of them
-- with 2+ orders ever up to the period's end. New: their first order ever falls in the period.
-- One scan of events_resolved: per order, then each customer's history through window functions.
WITH
  {from:Date} AS d_from,
  {to:Date} AS d_to,
  dateDiff('day', d_from, d_to) + 1 AS span,
  d_from - span AS p_from,
  d_from - 1 AS p_to,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  per_order AS (
    SELECT
      order_id, type,
      any(resolved_customer_id) AS customer,
      any(country) AS order_country,
      if(type = 'purchase', any(amount_base), sum(amount_base)) AS amount,
      toDate(min(ts)) AS day
    FROM events_resolved
    WHERE type IN ('purchase', 'refund') AND toDate(ts) <= d_to
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY order_id, type
  ),
  with_history AS (
    SELECT
      *,
      day >= d_from AS cur,
      -- the customer's whole purchase history (any country), for new/repeat
      minIf(day, type = 'purchase') OVER w AS first_day,
      countIf(type = 'purchase') OVER w AS orders_to_cur,
      countIf(type = 'purchase' AND day <= p_to) OVER w AS orders_to_prev
    FROM per_order
    WINDOW w AS (PARTITION BY customer)
  ),
  figures AS (
    SELECT
      sumIf(amount, type = 'purchase' AND cur) AS revenue,
      sumIf(amount, type = 'purchase' AND NOT cur) AS revenue_prev,
      countIf(type = 'purchase' AND cur) AS orders_n,
      countIf(type = 'purchase' AND NOT cur) AS orders_prev,
      sumIf(amount, type = 'refund' AND cur) AS refunds,
      sumIf(amount, type = 'refund' AND NOT cur) AS refunds_prev,
      uniqExactIf(customer, type = 'purchase' AND customer != '' AND cur) AS active,
      uniqExactIf(customer, type = 'purchase' AND customer != '' AND NOT cur) AS active_prev,
      uniqExactIf(customer, type = 'purchase' AND customer != '' AND cur AND orders_to_cur >= 2) AS repeaters,
      uniqExactIf(customer, type = 'purchase' AND customer != '' AND NOT cur AND orders_to_prev >= 2) AS repeaters_prev,
      uniqExactIf(customer, type = 'purchase' AND customer != '' AND cur AND first_day >= d_from) AS new_n,
      uniqExactIf(customer, type = 'purchase' AND customer != '' AND NOT cur AND first_day >= p_from) AS new_prev
    FROM with_history
    WHERE day >= p_from AND ({country:String} = '' OR order_country = {country:String})
  )
SELECT f.1 AS metric, f.2 AS value, f.3 AS previous
FROM figures
ARRAY JOIN [
  ('revenue', toFloat64(revenue), toFloat64(revenue_prev)),
  ('orders', toFloat64(orders_n), toFloat64(orders_prev)),
  ('aov', if(orders_n = 0, nan, revenue / orders_n), if(orders_prev = 0, nan, revenue_prev / orders_prev)),
  ('active_customers', toFloat64(active), toFloat64(active_prev)),
  ('repeat_rate', if(active = 0, nan, repeaters / active), if(active_prev = 0, nan, repeaters_prev / active_prev)),
  ('new_customers', toFloat64(new_n), toFloat64(new_prev)),
  ('returning_customers', toFloat64(active - new_n), toFloat64(active_prev - new_prev)),
  ('refunds', toFloat64(refunds), toFloat64(refunds_prev))
] AS f
