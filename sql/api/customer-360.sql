-- The customer 360's profile and events, in one round trip (chDB runs one query at a time; the branches of
-- a UNION ALL run in parallel). The events are those events_resolved gives the customer; the ids of
-- api/customer-identities.sql ({customer_ids}: the customer and those merged into it, {anon_ids}: the
-- anonymous ids that resolve to it) only let the scan use the events' bloom filter indexes.
-- Each row is (kind, payload JSON).
SELECT 'profile' AS kind, formatRowNoNewline('JSONEachRow', site, country, traits, consent, first_seen, updated_at) AS payload
FROM (
  -- The merged profile (identify merges, trust, site: see sql/views/32_customer_profiles.sql) of the customer's home site.
  SELECT site, country, traits, consent, first_seen, updated_at FROM customer_profiles
  WHERE customer_id = {id:String} ORDER BY verified DESC, first_seen ASC, site ASC LIMIT 1
)
UNION ALL
SELECT 'event', formatRowNoNewline('JSONEachRow', event_id, type, ts, session_id, site, order_id, currency, amount, amount_base)
FROM (
  SELECT event_id, type, ts, session_id, site, order_id, currency, amount, amount_base
  FROM events_resolved
  WHERE resolved_customer_id = {id:String} AND (customer_id IN {customer_ids:Array(String)} OR anonymous_id IN {anon_ids:Array(String)})
  ORDER BY ts DESC
  LIMIT {max_events:UInt32}
)
