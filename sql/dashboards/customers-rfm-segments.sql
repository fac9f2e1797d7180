-- Latest RFM run: customers and revenue per named segment.
WITH (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  toString(segment) AS segment,
  count() AS customers,
  round(sum(monetary), 2) AS revenue,
  round(avg(monetary), 2) AS avg_revenue
FROM rfm_scores
WHERE run_id = rfm_run
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({country:String} = '' OR customer_id IN (
    SELECT customer_id FROM customers GROUP BY customer_id HAVING argMax(country, updated_at) = {country:String}))
GROUP BY segment
ORDER BY customers DESC
