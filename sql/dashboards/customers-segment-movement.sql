-- Where customers moved between the two latest successful RFM runs: previous segment → current one.
-- '(new)' = not scored in the previous run, '(gone)' = not scored in the latest one.
-- The segment filter keeps customers who were in that segment in either run.
WITH
  (SELECT groupArray(run_id) FROM (
     SELECT run_id FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok'
     ORDER BY finished_at DESC, run_id DESC LIMIT 2)) AS runs,
  runs[1] AS cur_run,
  runs[2] AS prev_run
SELECT
  if(p.customer_id = '', '(new)', toString(p.segment)) AS from_segment,
  if(c.customer_id = '', '(gone)', toString(c.segment)) AS to_segment,
  count() AS customers
FROM (SELECT customer_id, segment FROM rfm_scores WHERE run_id = cur_run AND length(runs) = 2) AS c
FULL OUTER JOIN (SELECT customer_id, segment FROM rfm_scores WHERE run_id = prev_run AND length(runs) = 2) AS p
  ON c.customer_id = p.customer_id
WHERE ({segment:String} = '' OR c.segment = {segment:String} OR p.segment = {segment:String})
  AND ({country:String} = '' OR if(c.customer_id = '', p.customer_id, c.customer_id) IN (
    SELECT customer_id FROM customers GROUP BY customer_id HAVING argMax(country, updated_at) = {country:String}))
GROUP BY from_segment, to_segment
ORDER BY customers DESC
