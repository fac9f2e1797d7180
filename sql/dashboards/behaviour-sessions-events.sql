-- Session statistics computed from events' session_id, for stores without the sessions view.
-- Same figures and definitions as behaviour-sessions.sql (bounced: at most one distinct page).
WITH
  {from:Date} AS d_from,
  {to:Date} AS d_to,
  dateDiff('day', d_from, d_to) + 1 AS span,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  per_session AS (
    SELECT
      session_id,
      toDate(min(ts)) >= d_from AS cur,
      if(max(resolved_customer_id) != '', max(resolved_customer_id), max(anonymous_id)) AS visitor,
      dateDiff('millisecond', min(ts), max(ts)) / 1000 AS duration_s,
      count() AS events,
      uniqExactIf(path, path != '') <= 1 AS bounced,
      countIf(type = 'purchase') > 0 AS converted,
      argMinIf(country, ts, country != '') AS first_country
    FROM events_resolved
    WHERE session_id != '' AND toDate(ts) BETWEEN d_from - span AND d_to
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY session_id
    HAVING {country:String} = '' OR first_country = {country:String}
  ),
  figures AS (
    SELECT cur, count() AS sessions, uniqExact(visitor) AS visitors, avg(duration_s) AS avg_duration_s, avg(events) AS avg_events,
           avg(bounced) AS bounce_rate, avg(converted) AS conversion_rate
    FROM per_session
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
