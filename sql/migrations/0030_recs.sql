-- Recommendation outputs, one partition per run: readers pick the latest run whose status is 'ok'
-- (model_runs), the job drops the partitions of older runs in one cheap step. ORDER BY leads with
-- run_id and then the lookup key, so the store's per-run loads read one contiguous range.

-- Working table of one run: (actor, product) strengths, views/carts/purchases weighted and decayed.
-- Emptied at the end of each run; kept as a table because four later queries read it.
CREATE TABLE IF NOT EXISTS recs_interactions (
  run_id String,
  actor_id String,
  known UInt8,
  product_id String,
  category String,
  country LowCardinality(String),
  strength Float64,
  purchased UInt8,
  purchased_at DateTime64(3, 'UTC'),
  last_ts DateTime64(3, 'UTC'),
  recent Float64,
  prior Float64
) ENGINE = MergeTree
PARTITION BY run_id
ORDER BY (run_id, actor_id, product_id);

-- "Customers who viewed/carted/bought this also engaged with": weighted Jaccard over actors.
CREATE TABLE IF NOT EXISTS recs_similar (
  run_id String,
  product_id String,
  rank UInt16,
  similar_id String,
  score Float64,
  co_actors UInt32
) ENGINE = MergeTree
PARTITION BY run_id
ORDER BY (run_id, product_id, rank);

-- "Frequently bought together": pairs within one order, ranked by lift (confidence breaks ties).
CREATE TABLE IF NOT EXISTS recs_bought_together (
  run_id String,
  product_id String,
  rank UInt16,
  other_id String,
  lift Float64,
  confidence Float64,
  orders UInt32
) ENGINE = MergeTree
PARTITION BY run_id
ORDER BY (run_id, product_id, rank);

-- Personal top-K per known customer (SAR: affinity × similarity), bought items left out;
-- `because` is the customer's item that contributed most.
CREATE TABLE IF NOT EXISTS recs_personal (
  run_id String,
  customer_id String,
  rank UInt16,
  product_id String,
  score Float64,
  because String
) ENGINE = MergeTree
PARTITION BY run_id
ORDER BY (run_id, customer_id, rank);

-- Popular lists: list = 'overall' (key ''), 'category' (key = category), 'country' (key = country),
-- 'trending' (key '').
CREATE TABLE IF NOT EXISTS recs_popular (
  run_id String,
  list LowCardinality(String),
  key String,
  rank UInt16,
  product_id String,
  score Float64
) ENGINE = MergeTree
PARTITION BY run_id
ORDER BY (run_id, list, key, rank);

-- Per actor (customer, or anonymous id not linked to one): what to leave out (bought, non-consumable)
-- and the most recent items, from which the store builds lists for visitors on the fly.
CREATE TABLE IF NOT EXISTS recs_history (
  run_id String,
  actor_id String,
  purchased Array(String),
  recent Array(String),
  country LowCardinality(String)
) ENGINE = MergeTree
PARTITION BY run_id
ORDER BY (run_id, actor_id);

-- Every available product the run knows, with its category (for the variety rule and cold start).
CREATE TABLE IF NOT EXISTS recs_catalog (
  run_id String,
  product_id String,
  category String,
  popularity Float64
) ENGINE = MergeTree
PARTITION BY run_id
ORDER BY (run_id, product_id);
