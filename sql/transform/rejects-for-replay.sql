-- Dead letters not yet replayed, by id and/or reason, oldest first (replay keeps their order). Every
-- column comes back, because marking a row replayed means writing it again with replayed = 1.
SELECT
  toString(reject_id) AS reject_id, received_at, rejected_at, source, site, event_id, field, reason, raw, user_agent,
  log_topic, log_partition, log_offset, toUnixTimestamp64Milli(received_at) AS received_ms
FROM events_rejected FINAL
WHERE replayed = 0
  AND (length({ids:Array(String)}) = 0 OR toString(reject_id) IN {ids:Array(String)})
  AND ({reason:String} = '' OR positionCaseInsensitive(reason, {reason:String}) > 0)
ORDER BY received_at, reject_id
LIMIT {limit:UInt32}
