-- Transitions of the last {days} days whose server-side event (purchase, refund) is not in events:
-- the process stopped between recording the transition and handing the event to the log. Re-sending
-- is harmless, as the event id is derived from the order id and events fold on it.
SELECT oe.order_id AS order_id, oe.seq AS seq, oe.action AS action, oe.from_state AS from_state, oe.reason AS reason,
       toUnixTimestamp64Milli(oe.at) AS at_ms, oe.event_id AS event_id
FROM order_events AS oe FINAL
WHERE oe.event_id != ''
  AND oe.recorded_at > now64(3) - toIntervalDay({days:UInt32})
  AND toUUIDOrZero(oe.event_id) NOT IN (
    SELECT event_id FROM events WHERE received_at > now64(3) - toIntervalDay({days:UInt32} + 1)
  )
ORDER BY oe.recorded_at
