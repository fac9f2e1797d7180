-- Customer merges (two ids that are one person: a guest checkout and an account, a shop migration).
-- Like identity links they are resolved at query time: nothing in events is rewritten, so undoing a
-- merge (a row with undone = 1 and a later updated_at) is as cheap as making it.
CREATE TABLE IF NOT EXISTS customer_merges (
  merge_id String,
  from_customer_id String,
  into_customer_id String,
  at DateTime64(3, 'UTC'),
  actor String,
  undone UInt8 DEFAULT 0,
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (merge_id);

-- Merges take effect in the identity resolution view (sql/views/11_identity_resolution.sql); the
-- events_resolved view this migration re-created lives in sql/views.
