-- Ingest right now: events stored per second over the last minute and the last hour (by the time the
-- collector received them), seconds since the newest event arrived, and rejects in [from, to].
SELECT f.1 AS metric, f.2 AS value
FROM (
  SELECT
    (SELECT count() FROM events WHERE received_at >= now64(3) - INTERVAL 1 MINUTE) / 60 AS eps_1m,
    (SELECT count() FROM events WHERE received_at >= now64(3) - INTERVAL 1 HOUR) / 3600 AS eps_1h,
    (SELECT count() FROM events WHERE toDate(received_at) BETWEEN {from:Date} AND {to:Date}) AS events_in_range,
    (SELECT dateDiff('millisecond', max(received_at), now64(3)) / 1000 FROM events) AS last_event_age_s,
    (SELECT count() FROM events_rejected FINAL WHERE toDate(received_at) BETWEEN {from:Date} AND {to:Date}) AS rejects_in_range
)
ARRAY JOIN [
  ('events_per_s_1m', toFloat64(eps_1m)),
  ('events_per_s_1h', toFloat64(eps_1h)),
  ('events_in_range', toFloat64(events_in_range)),
  ('rejects_in_range', toFloat64(rejects_in_range)),
  ('last_event_age_s', toFloat64(last_event_age_s))
] AS f
