-- The view → cart → checkout → purchase funnel per value of one visitor dimension ({dim:Identifier}: a
-- column of events_resolved, one of IDENTIFIER_PARAMS.dim in dashboards/panel-schema.ts), taken from the
-- visitor's first product view: visitors reaching each step, and their share of that value's viewers.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  ['view', 'cart', 'checkout', 'purchase'] AS steps,
  levels AS (
    SELECT
      if(resolved_customer_id != '', resolved_customer_id, anonymous_id) AS visitor,
      argMinIf({dim:Identifier}, ts, type = 'product_view') AS first_value,
      windowFunnel(86400)(toDateTime(ts), type = 'product_view', type = 'add_to_cart', type = 'checkout_started', type = 'purchase') AS level
    FROM events_resolved
    WHERE type IN ('product_view', 'add_to_cart', 'checkout_started', 'purchase')
      AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
      AND ({country:String} = '' OR country = {country:String})
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY visitor
    HAVING level >= 1
  )
SELECT
  if(first_value = '', 'unknown', toString(first_value)) AS {dim:Identifier},
  steps[step_no] AS step,
  countIf(level >= step_no) AS visitors,
  round(visitors / count(), 4) AS rate
FROM levels
ARRAY JOIN [1, 2, 3, 4] AS step_no
GROUP BY {dim:Identifier}, step_no
ORDER BY {dim:Identifier}, step_no
