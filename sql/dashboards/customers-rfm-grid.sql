-- Latest RFM run as an R × F grid: customers and their revenue (net, base currency, RFM window) per cell.
-- The country filter uses the customer's profile country; the date range does not apply (a snapshot).
WITH (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  toString(r) AS r,
  toString(f) AS f,
  count() AS customers,
  round(sum(monetary), 2) AS revenue
FROM rfm_scores
WHERE run_id = rfm_run
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({country:String} = '' OR customer_id IN (
    SELECT customer_id FROM customers GROUP BY customer_id HAVING argMax(country, updated_at) = {country:String}))
GROUP BY r, f
ORDER BY r, f
