-- When events last received rows, for processes that do not run the transformer themselves.
SELECT toUnixTimestamp64Milli(toDateTime64(max(modification_time), 3)) AS at_ms, count() AS parts
FROM system.parts
WHERE database = currentDatabase() AND table = 'events' AND active
