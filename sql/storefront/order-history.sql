-- One order's transitions, in order (order_events is sorted by order_id, seq: a range read).
SELECT seq, action, from_state, state, toUnixTimestamp64Milli(at) AS at_ms, actor, reason, event_id
FROM order_events FINAL
WHERE order_id = {order_id:String}
ORDER BY seq
