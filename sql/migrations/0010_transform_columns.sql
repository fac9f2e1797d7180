-- What the transformer needs beyond the core tables.
-- order_items carries the log position of its purchase event, so a re-delivered log batch whose
-- boundaries differ from the first attempt (crash between the order_items and the events insert)
-- skips lines already stored instead of writing them a second time.
ALTER TABLE order_items ADD COLUMN IF NOT EXISTS log_topic LowCardinality(String) DEFAULT '';
ALTER TABLE order_items ADD COLUMN IF NOT EXISTS log_partition UInt32 DEFAULT 0;
ALTER TABLE order_items ADD COLUMN IF NOT EXISTS log_offset UInt64 DEFAULT 0;

-- A replayed reject goes back through the whole standardisation, device and bot detection included,
-- so the dead letter keeps the user agent the collector saw.
ALTER TABLE events_rejected ADD COLUMN IF NOT EXISTS user_agent String DEFAULT '';
