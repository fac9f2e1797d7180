-- Why events were rejected in [from, to] (the dead letter), most frequent first.
SELECT
  if(field = '', reason, concat(field, ': ', reason)) AS problem,
  count() AS rejects,
  countIf(replayed = 1) AS replayed,
  max(received_at) AS last_seen
FROM events_rejected FINAL
WHERE toDate(received_at) BETWEEN {from:Date} AND {to:Date}
GROUP BY problem
ORDER BY rejects DESC, problem
LIMIT 20
