-- The bundled shop (storefront/): catalogue details, members and their sessions, carts, and orders.
-- The shop process keeps the live state in memory and writes every change here; on start it reads it back.

-- Catalogue details the shop pages show; 0001's products table had none.
ALTER TABLE products ADD COLUMN IF NOT EXISTS description String DEFAULT '';
ALTER TABLE products ADD COLUMN IF NOT EXISTS tags Array(String) DEFAULT [];

-- Members: one row per change, the latest (updated_at) wins. The password is an scrypt hash with its own
-- salt and parameters ("scrypt$N$r$p$salt$hash"), never the password itself.
CREATE TABLE IF NOT EXISTS shop_members (
  customer_id String,
  email String,
  name String,
  password_hash String,
  locale LowCardinality(String),
  currency LowCardinality(String),
  created_at DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3),
  deleted UInt8 DEFAULT 0
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (customer_id);

-- Login sessions. Only a SHA-256 of the cookie's token is stored, so a leaked table opens no session.
CREATE TABLE IF NOT EXISTS shop_sessions (
  token_hash String,
  customer_id String,
  created_at DateTime64(3, 'UTC'),
  expires_at DateTime64(3, 'UTC'),
  revoked UInt8 DEFAULT 0,
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (token_hash)
TTL toDateTime(expires_at) + INTERVAL 1 DAY;

-- Carts, written behind (at most once a second per cart) so browsing never waits on ClickHouse.
CREATE TABLE IF NOT EXISTS shop_carts (
  cart_id String,
  customer_id String,
  anonymous_id String,
  items String,
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (cart_id)
TTL toDateTime(updated_at) + INTERVAL 60 DAY;

-- Every order transition, in order (seq 1 = created). This is the durable record: one INSERT per
-- transition, so a transition and its stock change land together or not at all. stock_delta holds
-- what the transition did to stock (reserve: negative, release: positive); available stock is the
-- products row's stock plus the deltas recorded after that row was written (recorded_at is the shop
-- process's wall clock, strictly increasing; `at` may be a simulated time from `cvm demo traffic`).
CREATE TABLE IF NOT EXISTS order_events (
  order_id String,
  seq UInt32,
  at DateTime64(3, 'UTC'),
  action LowCardinality(String),
  from_state LowCardinality(String),
  state LowCardinality(String),
  actor String,
  reason String,
  customer_id String,
  anonymous_id String,
  currency LowCardinality(String),
  total Float64,
  display_currency LowCardinality(String),
  display_total Float64,
  items String,
  created_at DateTime64(3, 'UTC'),
  stock_delta Array(Tuple(product_id String, delta Int32)),
  event_id String,
  recorded_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (order_id, seq);

-- Current state of each order: the latest transition, kept by a materialised view of order_events
-- (ReplacingMergeTree on seq; read with FINAL).
CREATE TABLE IF NOT EXISTS orders (
  order_id String,
  customer_id String,
  anonymous_id String,
  state LowCardinality(String),
  currency LowCardinality(String),
  total Float64,
  display_currency LowCardinality(String),
  display_total Float64,
  items String,
  created_at DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC'),
  seq UInt32
) ENGINE = ReplacingMergeTree(seq)
ORDER BY (order_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS orders_from_events TO orders AS
SELECT order_id, customer_id, anonymous_id, state, currency, total, display_currency, display_total, items, created_at, at AS updated_at, seq
FROM order_events;
