-- Events stored and rejected per second, averaged per hour (ranges up to 3 days) or per day.
WITH
  dateDiff('day', {from:Date}, {to:Date}) < 3 AS hourly,
  if(hourly, 3600, 86400) AS seconds
SELECT bucket, round(sum(stored) / seconds, 4) AS events_per_s, round(sum(rejected) / seconds, 4) AS rejects_per_s
FROM (
  SELECT if(hourly, toStartOfHour(received_at), toStartOfDay(received_at)) AS bucket, count() AS stored, 0 AS rejected
  FROM events
  WHERE toDate(received_at) BETWEEN {from:Date} AND {to:Date}
  GROUP BY bucket
  UNION ALL
  SELECT if(hourly, toStartOfHour(received_at), toStartOfDay(received_at)) AS bucket, 0 AS stored, count() AS rejected
  FROM events_rejected FINAL
  WHERE toDate(received_at) BETWEEN {from:Date} AND {to:Date}
  GROUP BY bucket
)
GROUP BY bucket
ORDER BY bucket
