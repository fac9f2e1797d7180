-- One row per known customer with the latest successful run of each model: what segment rules, the
-- customer list and analysts read. No PII (traits stay in customers). A score is NULL when the model
-- has not scored the customer, so `clv > 200` and `clv <= 200` both leave an unscored customer out.
-- Country, consent and first_seen come from the home profile, else from the customer's orders.
CREATE OR REPLACE VIEW customer_features AS
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'clv' AND status = 'ok') AS clv_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'churn' AND status = 'ok') AS churn_run
SELECT
  ids.customer_id AS customer_id,
  if(p.customer_id != '' AND p.country != '', p.country, o.country) AS country,
  if(p.customer_id != '', p.consent, toUInt8(1)) AS consent,
  if(p.customer_id != '', p.first_seen, if(o.customer_id != '', o.first_order, NULL)) AS first_seen,
  if(r.customer_id != '', r.recency_days, NULL) AS recency_days,
  if(r.customer_id != '', r.frequency, NULL) AS frequency,
  if(r.customer_id != '', r.monetary, NULL) AS monetary,
  if(r.customer_id != '', r.r, NULL) AS r,
  if(r.customer_id != '', r.f, NULL) AS f,
  if(r.customer_id != '', r.m, NULL) AS m,
  if(r.customer_id != '', toString(r.segment), NULL) AS segment,
  if(v.customer_id != '', v.clv, NULL) AS clv,
  if(v.customer_id != '', v.p_alive, NULL) AS p_alive,
  if(v.customer_id != '', v.expected_purchases, NULL) AS expected_purchases,
  if(h.customer_id != '', h.churn_risk, NULL) AS churn_risk
FROM (
  SELECT customer_id FROM customers
  UNION DISTINCT SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run
  UNION DISTINCT SELECT customer_id FROM clv_scores WHERE run_id = clv_run
  UNION DISTINCT SELECT customer_id FROM churn_scores WHERE run_id = churn_run
) AS ids
LEFT JOIN (SELECT customer_id, country, consent, first_seen FROM customer_home_profiles) AS p ON p.customer_id = ids.customer_id
LEFT JOIN (
  SELECT customer_id, anyLast(country) AS country, min(ts) AS first_order FROM order_items WHERE customer_id != '' GROUP BY customer_id
) AS o ON o.customer_id = ids.customer_id
LEFT JOIN (SELECT * FROM rfm_scores WHERE run_id = rfm_run) AS r ON r.customer_id = ids.customer_id
LEFT JOIN (SELECT * FROM clv_scores WHERE run_id = clv_run) AS v ON v.customer_id = ids.customer_id
LEFT JOIN (SELECT * FROM churn_scores WHERE run_id = churn_run) AS h ON h.customer_id = ids.customer_id
WHERE ids.customer_id != '';
