-- Latest churn run: the 25 customers with the most revenue at risk (churn risk × spend over the
-- RFM window), with the model's first reason.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'churn' AND status = 'ok') AS churn_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  h.customer_id AS customer_id,
  round(h.churn_risk, 3) AS churn_risk,
  round(r.monetary, 2) AS revenue,
  round(h.churn_risk * r.monetary, 2) AS revenue_at_risk,
  toString(r.segment) AS segment,
  h.reasons[1] AS reason
FROM (SELECT customer_id, churn_risk, reasons FROM churn_scores WHERE run_id = churn_run) AS h
LEFT JOIN (SELECT customer_id, monetary, segment FROM rfm_scores WHERE run_id = rfm_run) AS r ON r.customer_id = h.customer_id
WHERE ({segment:String} = '' OR r.segment = {segment:String})
  AND ({country:String} = '' OR h.customer_id IN (
    SELECT customer_id FROM customers GROUP BY customer_id HAVING argMax(country, updated_at) = {country:String}))
ORDER BY revenue_at_risk DESC, h.customer_id
LIMIT 25
