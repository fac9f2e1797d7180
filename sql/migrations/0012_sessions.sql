-- Sessions, kept up to date by a materialized view on events: every insert of events folds its rows
-- into per-session partial aggregates, so sessions are as fresh as events with no scheduled job and
-- no rescan. Why this is safe from double counting: the transformer never inserts an event twice
-- (in-batch, recent-id and log high-water dedup), and a re-sent insert block that ClickHouse drops by
-- its insert_deduplication_token is not pushed to the view either. Bots are left out, like in
-- events_resolved. Readers use the `sessions` view below, which finishes the aggregates.
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

-- One row per session, customer resolved like events_resolved (identity link, then merges).
-- bounced: the visitor saw at most one page. duration_s: first to last event.
CREATE OR REPLACE VIEW sessions AS
WITH (
  SELECT (groupArray(from_id), groupArray(into_id))
  FROM (
    SELECT argMax(from_customer_id, updated_at) AS from_id, argMax(into_customer_id, updated_at) AS into_id
    FROM customer_merges
    GROUP BY merge_id
    HAVING argMax(undone, updated_at) = 0
  )
) AS merges
SELECT
  s.session_id AS session_id,
  s.site AS site,
  s.anonymous_id AS anonymous_id,
  transform(transform(transform(transform(
    if(s.customer_id != '', s.customer_id, i.linked_customer_id),
    merges.1, merges.2), merges.1, merges.2), merges.1, merges.2), merges.1, merges.2) AS customer_id,
  s.started_at AS started_at,
  s.ended_at AS ended_at,
  toFloat64(dateDiff('millisecond', s.started_at, s.ended_at)) / 1000 AS duration_s,
  s.page_views AS page_views,
  s.events AS events,
  s.pages AS pages,
  s.pages <= 1 AS bounced,
  s.entry_path AS entry_path,
  s.exit_path AS exit_path,
  s.orders > 0 AS converted,
  s.orders AS orders,
  s.revenue_base AS revenue_base,
  s.country AS country,
  s.device AS device
FROM (
  SELECT
    site, session_id, max(anonymous_id) AS anonymous_id, max(customer_id) AS customer_id,
    min(started_at) AS started_at, max(ended_at) AS ended_at, sum(page_views) AS page_views, sum(events) AS events,
    uniqExactMerge(pages) AS pages, argMinMerge(entry_path) AS entry_path, argMaxMerge(exit_path) AS exit_path,
    sum(orders) AS orders, sum(revenue_base) AS revenue_base, argMinMerge(country) AS country, argMinMerge(device) AS device
  FROM sessions_agg
  GROUP BY site, session_id
) AS s
LEFT JOIN (
  SELECT anonymous_id, argMax(customer_id, updated_at) AS linked_customer_id
  FROM identities
  GROUP BY anonymous_id
  HAVING argMax(deleted, updated_at) = 0
) AS i ON s.anonymous_id = i.anonymous_id AND s.anonymous_id != '';
