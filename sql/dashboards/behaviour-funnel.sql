-- Visitors (customer, else anonymous id) who went product view → add to cart → checkout → purchase,
-- each step within 24 hours of the first, counted per step with the drop-off from the step before.
-- Per visitor, not per session: server-side purchases often carry no session id.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  ['view', 'cart', 'checkout', 'purchase'] AS steps,
  levels AS (
    SELECT
      if(resolved_customer_id != '', resolved_customer_id, anonymous_id) AS visitor,
      windowFunnel(86400)(toDateTime(ts), type = 'product_view', type = 'add_to_cart', type = 'checkout_started', type = 'purchase') AS level
    FROM events_resolved
    WHERE type IN ('product_view', 'add_to_cart', 'checkout_started', 'purchase')
      AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
      AND ({country:String} = '' OR country = {country:String})
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY visitor
  ),
  counts AS (
    SELECT step_no, steps[step_no] AS step, countIf(level >= step_no) AS visitors
    FROM levels
    ARRAY JOIN [1, 2, 3, 4] AS step_no
    GROUP BY step_no
  )
SELECT
  step,
  visitors,
  round(visitors / nullIf(first_value(visitors) OVER (ORDER BY step_no), 0), 4) AS rate_from_start,
  round(visitors / nullIf(lagInFrame(visitors, 1, visitors) OVER (ORDER BY step_no ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), 0), 4) AS rate_from_previous
FROM counts
ORDER BY step_no
