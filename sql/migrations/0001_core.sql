-- Core tables of the pipeline. Every engine keeps a dedup window so that a re-delivered
-- insert with the same insert_deduplication_token is dropped by ClickHouse itself.

-- One row per accepted behaviour event, standardised. ReplacingMergeTree on event_id folds
-- client retries that reached the log twice; the transformer also skips offsets it already stored.
-- ORDER BY leads with site and day because analysis scans time ranges of one shop.
CREATE TABLE IF NOT EXISTS events (
  event_id UUID,
  type LowCardinality(String),
  ts DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  site LowCardinality(String),
  anonymous_id String,
  customer_id String,
  session_id String,
  product_id String,
  category String,
  quantity Int32,
  price Float64,
  currency LowCardinality(String),
  amount Float64,
  amount_base Float64,
  order_id String,
  search_query String,
  search_results Int32 DEFAULT -1,
  rating UInt8,
  country LowCardinality(String),
  locale LowCardinality(String),
  device LowCardinality(String),
  browser LowCardinality(String),
  os LowCardinality(String),
  is_bot UInt8,
  url String,
  path String,
  referrer String,
  utm_source String,
  utm_medium String,
  utm_campaign String,
  utm_term String,
  utm_content String,
  props String,
  log_topic LowCardinality(String),
  log_partition UInt32,
  log_offset UInt64,
  INDEX idx_customer customer_id TYPE bloom_filter GRANULARITY 4,
  INDEX idx_anon anonymous_id TYPE bloom_filter GRANULARITY 4
) ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (site, toDate(ts), event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Dead letter: what could not become an event, with the reason and the raw payload. Never dropped.
CREATE TABLE IF NOT EXISTS events_rejected (
  reject_id UUID DEFAULT generateUUIDv4(),
  received_at DateTime64(3, 'UTC'),
  rejected_at DateTime64(3, 'UTC') DEFAULT now64(3),
  source LowCardinality(String),
  site LowCardinality(String),
  event_id String,
  field String,
  reason String,
  raw String,
  replayed UInt8 DEFAULT 0,
  log_topic LowCardinality(String),
  log_partition UInt32,
  log_offset UInt64
) ENGINE = ReplacingMergeTree(replayed)
ORDER BY (reject_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- anonymous_id -> customer_id links from identify and alias events.
CREATE TABLE IF NOT EXISTS identities (
  anonymous_id String,
  customer_id String,
  site LowCardinality(String),
  source LowCardinality(String),
  first_seen DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3),
  deleted UInt8 DEFAULT 0
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (anonymous_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Latest profile per customer; traits kept as JSON, PII fields encrypted before they get here.
CREATE TABLE IF NOT EXISTS customers (
  customer_id String,
  site LowCardinality(String),
  country LowCardinality(String),
  traits String,
  consent UInt8 DEFAULT 1,
  first_seen DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (customer_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS products (
  product_id String,
  title String,
  category String,
  price Float64,
  currency LowCardinality(String),
  stock Int32 DEFAULT 0,
  listed UInt8 DEFAULT 1,
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (product_id);

-- One row per purchased line, written by the transformer from purchase events (net of refunds via refunded).
CREATE TABLE IF NOT EXISTS order_items (
  order_id String,
  event_id UUID,
  ts DateTime64(3, 'UTC'),
  site LowCardinality(String),
  customer_id String,
  anonymous_id String,
  product_id String,
  category String,
  quantity Int32,
  price Float64,
  currency LowCardinality(String),
  price_base Float64,
  country LowCardinality(String)
) ENGINE = ReplacingMergeTree
ORDER BY (order_id, product_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Daily exchange rates: 1 unit of currency = rate units of base.
CREATE TABLE IF NOT EXISTS fx_rates (
  day Date,
  currency LowCardinality(String),
  base LowCardinality(String),
  rate Float64,
  source LowCardinality(String),
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (base, currency, day);

-- Every model run: what ran, with which parameters, what it measured, how many rows it wrote.
CREATE TABLE IF NOT EXISTS model_runs (
  run_id String,
  model LowCardinality(String),
  version String,
  status LowCardinality(String),
  started_at DateTime64(3, 'UTC'),
  finished_at DateTime64(3, 'UTC'),
  params String,
  metrics String,
  rows_written UInt64,
  error String
) ENGINE = ReplacingMergeTree(finished_at)
ORDER BY (model, run_id);

-- RFM per customer per run; the API serves the latest run whose status is 'ok'.
CREATE TABLE IF NOT EXISTS rfm_scores (
  run_id String,
  customer_id String,
  recency_days Float64,
  frequency UInt32,
  monetary Float64,
  r UInt8,
  f UInt8,
  m UInt8,
  segment LowCardinality(String),
  computed_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (run_id, customer_id);

CREATE TABLE IF NOT EXISTS audit_log (
  at DateTime64(3, 'UTC') DEFAULT now64(3),
  actor String,
  role LowCardinality(String),
  action LowCardinality(String),
  target String,
  detail String
) ENGINE = MergeTree
ORDER BY (at);
