-- Leases that keep two schedulers (or a scheduler and an API call) from running the same model job at once.
-- Append-only: a holder writes its claim, lease renewals and its release as rows; models/lock.ts reads them
-- back and takes the oldest live claim as the owner (see the comment there for why that is safe).
-- claimed_at is the ClickHouse server's clock at insert, so every participant orders claims by one clock.
CREATE TABLE IF NOT EXISTS model_locks (
  job LowCardinality(String),
  holder String,
  claimed_at DateTime64(6, 'UTC'),
  expires_at DateTime64(6, 'UTC'),
  released UInt8 DEFAULT 0,
  written_at DateTime64(6, 'UTC') DEFAULT now64(6)
) ENGINE = MergeTree
ORDER BY (job, holder, written_at)
TTL toDateTime(written_at) + INTERVAL 7 DAY;
