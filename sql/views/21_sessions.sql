-- One row per session (from sessions_agg, 0012), customer resolved like events_resolved (identity_resolution).
-- bounced: the visitor saw at most one page. duration_s: first to last event.
CREATE OR REPLACE VIEW sessions AS
SELECT
  s.session_id AS session_id,
  s.site AS site,
  s.anonymous_id AS anonymous_id,
  if(r.customer_id != '', r.customer_id, s.customer_id) AS customer_id,
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
LEFT JOIN identity_resolution AS r
  ON r.site = if(s.customer_id != '', '', s.site) AND r.id = if(s.customer_id != '', s.customer_id, s.anonymous_id);
