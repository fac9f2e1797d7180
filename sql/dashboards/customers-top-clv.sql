-- Latest CLV run: the 25 customers worth most, with their RFM segment and profile country.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'clv' AND status = 'ok') AS clv_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  v.customer_id AS customer_id,
  round(v.clv, 2) AS clv,
  round(v.expected_purchases, 2) AS expected_purchases,
  round(v.p_alive, 3) AS p_alive,
  toString(r.segment) AS segment,
  p.country AS country
FROM (SELECT customer_id, clv, expected_purchases, p_alive FROM clv_scores WHERE run_id = clv_run) AS v
LEFT JOIN (SELECT customer_id, segment FROM rfm_scores WHERE run_id = rfm_run) AS r ON r.customer_id = v.customer_id
LEFT JOIN (SELECT customer_id, argMax(country, updated_at) AS country FROM customers GROUP BY customer_id) AS p ON p.customer_id = v.customer_id
WHERE ({segment:String} = '' OR r.segment = {segment:String})
  AND ({country:String} = '' OR p.country = {country:String})
ORDER BY v.clv DESC, v.customer_id
LIMIT 25
