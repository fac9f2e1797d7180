-- The newest stored events of one topic/partition, oldest first: after a restart they refill the
-- transformer's recent-id set and its per-visitor session state.
SELECT event_id, site, anonymous_id, customer_id, session_id, toUnixTimestamp64Milli(ts) AS ts_ms
FROM events
WHERE log_topic = {t:String} AND log_partition = {p:UInt32} AND log_offset > {from:Int64}
ORDER BY log_offset
