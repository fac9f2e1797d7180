-- Recommendation lists shown and clicked per day or week, with the click-through rate.
WITH
  {grain:String} = 'week' AS weekly,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  per_bucket AS (
    SELECT
      if(weekly, toMonday(toDate(ts)), toDate(ts)) AS bucket,
      countIf(type = 'rec_impression') AS impressions,
      countIf(type = 'rec_click') AS clicks
    FROM events_resolved
    WHERE type IN ('rec_impression', 'rec_click')
      AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
      AND ({country:String} = '' OR country = {country:String})
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY bucket
  ),
  calendar AS (
    SELECT DISTINCT if(weekly, toMonday({from:Date} + number), {from:Date} + number) AS bucket
    FROM numbers(toUInt64(dateDiff('day', {from:Date}, {to:Date}) + 1))
  )
SELECT c.bucket AS bucket, p.impressions AS impressions, p.clicks AS clicks, round(p.clicks / nullIf(p.impressions, 0), 4) AS ctr
FROM calendar AS c
LEFT JOIN per_bucket AS p ON p.bucket = c.bucket
ORDER BY bucket
