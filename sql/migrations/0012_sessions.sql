-- Sessions, kept up to date by a materialized view on events: every insert of events folds its rows
-- into per-session partial aggregates, so sessions are as fresh as events with no scheduled job and
-- no rescan. Why this is safe from double counting: the transformer never inserts an event twice
-- (in-batch, recent-id and log high-water dedup), and a re-sent insert block that ClickHouse drops by
-- its insert_deduplication_token is not pushed to the view either. Bots are left out, like in
-- events_resolved. Readers use the `sessions` view (sql/views), which finishes the aggregates.
CREATE TABLE IF NOT EXISTS sessions_agg (
  site LowCardinality(String),
  session_id String,
  anonymous_id SimpleAggregateFunction(max, String),
  customer_id SimpleAggregateFunction(max, String),
  started_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
  ended_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  page_views SimpleAggregateFunction(sum, UInt64),
  events SimpleAggregateFunction(sum, UInt64),
  pages AggregateFunction(uniqExact, String),
  entry_path AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
  exit_path AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
  orders SimpleAggregateFunction(sum, UInt64),
  revenue_base SimpleAggregateFunction(sum, Float64),
  country AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
  device AggregateFunction(argMin, String, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree
ORDER BY (site, session_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS sessions_mv TO sessions_agg AS
SELECT
  site,
  session_id,
  max(anonymous_id) AS anonymous_id,
  max(customer_id) AS customer_id,
  min(ts) AS started_at,
  max(ts) AS ended_at,
  toUInt64(countIf(type = 'page_view')) AS page_views,
  toUInt64(count()) AS events,
  uniqExactStateIf(path, path != '') AS pages,
  argMinStateIf(path, ts, path != '') AS entry_path,
  argMaxStateIf(path, ts, path != '') AS exit_path,
  toUInt64(countIf(type = 'purchase')) AS orders,
  sumIf(amount_base, type = 'purchase') AS revenue_base,
  argMinStateIf(country, ts, country != '') AS country,
  argMinStateIf(device, ts, device != '') AS device
FROM events
WHERE session_id != '' AND is_bot = 0
GROUP BY site, session_id;

-- Stores that already hold events when this migration lands get their sessions once.
INSERT INTO sessions_agg
SELECT
  site, session_id, max(anonymous_id), max(customer_id), min(ts), max(ts),
  toUInt64(countIf(type = 'page_view')), toUInt64(count()),
  uniqExactStateIf(path, path != ''), argMinStateIf(path, ts, path != ''), argMaxStateIf(path, ts, path != ''),
  toUInt64(countIf(type = 'purchase')), sumIf(amount_base, type = 'purchase'),
  argMinStateIf(country, ts, country != ''), argMinStateIf(device, ts, device != '')
FROM events FINAL
WHERE session_id != '' AND is_bot = 0 AND (SELECT count() FROM sessions_agg) = 0
GROUP BY site, session_id;

-- Readers use the `sessions` view: sql/views/21_sessions.sql (customer resolved by identity_resolution).
