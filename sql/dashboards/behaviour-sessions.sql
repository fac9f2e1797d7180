-- Session statistics for [from, to] and the period before, from the sessions view (kept by a
-- materialized view on events). behaviour-sessions-events.sql computes the same from events.
WITH
  {from:Date} AS d_from,
  {to:Date} AS d_to,
  dateDiff('day', d_from, d_to) + 1 AS span,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  figures AS (
    SELECT
      toDate(started_at) >= d_from AS cur,
      count() AS sessions,
      uniqExact(if(customer_id != '', customer_id, anonymous_id)) AS visitors,
      avg(duration_s) AS avg_duration_s,
      avg(events) AS avg_events,
      avg(bounced) AS bounce_rate,
      avg(converted) AS conversion_rate
    FROM sessions
    WHERE toDate(started_at) BETWEEN d_from - span AND d_to
      AND ({country:String} = '' OR country = {country:String})
      AND ({segment:String} = '' OR customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY cur
  )
SELECT f.1 AS metric, f.2 AS value, f.3 AS previous
FROM (
  SELECT
    [sumIf(sessions, cur), sumIf(visitors, cur), sumIf(avg_duration_s, cur), sumIf(avg_events, cur), sumIf(bounce_rate, cur), sumIf(conversion_rate, cur)] AS c,
    [sumIf(sessions, NOT cur), sumIf(visitors, NOT cur), sumIf(avg_duration_s, NOT cur), sumIf(avg_events, NOT cur), sumIf(bounce_rate, NOT cur), sumIf(conversion_rate, NOT cur)] AS p
  FROM figures
)
ARRAY JOIN arrayZip(['sessions', 'visitors', 'avg_duration_s', 'avg_events', 'bounce_rate', 'conversion_rate'], c, p) AS f
