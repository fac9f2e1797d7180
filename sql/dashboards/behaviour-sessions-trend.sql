-- Sessions per day or week and device, from the sessions view.
WITH
  {grain:String} = 'week' AS weekly,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  if(weekly, toMonday(toDate(started_at)), toDate(started_at)) AS bucket,
  if(device = '', 'unknown', device) AS device_type,
  count() AS sessions
FROM sessions
WHERE toDate(started_at) BETWEEN {from:Date} AND {to:Date}
  AND ({country:String} = '' OR country = {country:String})
  AND ({segment:String} = '' OR customer_id IN (
    SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
GROUP BY bucket, device_type
ORDER BY bucket, device_type
