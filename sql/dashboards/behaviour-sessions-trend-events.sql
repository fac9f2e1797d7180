-- Sessions per day or week and device, computed from events' session_id (no sessions view).
WITH
  {grain:String} = 'week' AS weekly,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT bucket, device_type, count() AS sessions
FROM (
  SELECT
    session_id,
    if(weekly, toMonday(toDate(min(ts))), toDate(min(ts))) AS bucket,
    if(argMinIf(device, ts, device != '') = '', 'unknown', argMinIf(device, ts, device != '')) AS device_type,
    argMinIf(country, ts, country != '') AS first_country
  FROM events_resolved
  WHERE session_id != '' AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
    AND ({segment:String} = '' OR resolved_customer_id IN (
      SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
  GROUP BY session_id
  HAVING {country:String} = '' OR first_country = {country:String}
)
GROUP BY bucket, device_type
ORDER BY bucket, device_type
