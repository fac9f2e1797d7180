-- API keys. Only the SHA-256 of each key is stored: keys are 256-bit random strings, so a fast hash is as
-- safe as a slow KDF (there is no dictionary to try) and costs nothing per request. A revocation is a
-- newer row version with revoked = 1. role: storefront | analyst | admin (secret keys) or write (public
-- write key of one site, with the page origins allowed to send with it).
CREATE TABLE IF NOT EXISTS api_keys (
  key_id String,
  role LowCardinality(String),
  name String,
  site String,
  origins Array(String),
  prefix String,
  hash String,
  created_by String,
  created_at DateTime64(3, 'UTC'),
  revoked UInt8 DEFAULT 0,
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (key_id);

-- Saved customer segments: a rule over customer_features (api/segments/rules.ts). The webhook secret
-- is kept encrypted with CVM_ENCRYPTION_KEY (it signs pushes, so it cannot be a hash).
CREATE TABLE IF NOT EXISTS segments (
  segment_id String,
  name String,
  rule String,
  webhook_url String,
  webhook_secret String,
  created_by String,
  created_at DateTime64(3, 'UTC'),
  deleted UInt8 DEFAULT 0,
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (segment_id);

-- Size of every segment after each model run: built-in RFM segments (segment_id 'rfm:<name>') and saved ones.
CREATE TABLE IF NOT EXISTS segment_sizes (
  at DateTime64(3, 'UTC'),
  run_id String,
  model LowCardinality(String),
  segment_id String,
  kind LowCardinality(String),
  customers UInt64
) ENGINE = MergeTree
ORDER BY (segment_id, at);
