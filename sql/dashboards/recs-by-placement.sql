-- Recommendation lists shown and clicked per placement (product page, cart, home, e-mail ...).
WITH (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  if(placement = '', 'unknown', placement) AS placement_name,
  countIf(type = 'rec_impression') AS impressions,
  countIf(type = 'rec_click') AS clicks,
  round(clicks / nullIf(impressions, 0), 4) AS ctr
FROM (
  SELECT type, JSONExtractString(props, 'placement') AS placement
  FROM events_resolved
  WHERE type IN ('rec_impression', 'rec_click')
    AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
    AND ({country:String} = '' OR country = {country:String})
    AND ({segment:String} = '' OR resolved_customer_id IN (
      SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
)
GROUP BY placement_name
ORDER BY impressions DESC
