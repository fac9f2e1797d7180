-- Latest churn run: customers per 10-point risk band, and the revenue at risk: each customer's
-- spend over the RFM window (latest RFM run) times their churn risk.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'churn' AND status = 'ok') AS churn_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  band_no,
  concat(toString(band_no * 10), '–', toString(band_no * 10 + 10), '%') AS band,
  count() AS customers,
  round(sum(churn_risk * monetary), 2) AS revenue_at_risk
FROM (
  SELECT least(9, toUInt8(floor(h.churn_risk * 10))) AS band_no, h.churn_risk AS churn_risk, r.monetary AS monetary
  FROM (SELECT customer_id, churn_risk FROM churn_scores WHERE run_id = churn_run) AS h
  LEFT JOIN (SELECT customer_id, monetary, segment FROM rfm_scores WHERE run_id = rfm_run) AS r ON r.customer_id = h.customer_id
  WHERE ({segment:String} = '' OR r.segment = {segment:String})
    AND ({country:String} = '' OR h.customer_id IN (
      SELECT customer_id FROM customers GROUP BY customer_id HAVING argMax(country, updated_at) = {country:String}))
)
GROUP BY band_no
ORDER BY band_no
