-- Dead letters per reason: all time, the last 24 hours, and those still waiting for a replay.
SELECT
  reason,
  count() AS total,
  countIf(rejected_at >= now64(3) - INTERVAL 24 HOUR) AS last_24h,
  countIf(replayed = 0) AS pending
FROM events_rejected FINAL
GROUP BY reason
ORDER BY total DESC, reason
LIMIT 1000
