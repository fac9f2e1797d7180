-- What the customer 360 reads, in one round trip (chDB runs one query at a time; the branches of a
-- UNION ALL run in parallel). The customer's events are those with their customer_id or an anonymous id
-- linked to them ({anon}); activity, orders, refunds and sessions are folded from them in
-- api/customer-360.ts. Refunds are also matched by order id, for refunds a shop back end sent without
-- the customer's id. Each row is (kind, payload JSON).
SELECT 'profile' AS kind, formatRowNoNewline('JSONEachRow', site, country, traits, consent, first_seen, updated_at) AS payload
FROM (
  -- The merged profile (identify merges, trust, site: see customer_profiles in 0071) of the customer's home site.
  SELECT site, country, traits, consent, first_seen, updated_at FROM customer_profiles
  WHERE customer_id = {id:String} ORDER BY verified DESC, first_seen ASC, site ASC LIMIT 1
)
UNION ALL
SELECT 'event', formatRowNoNewline('JSONEachRow', event_id, type, ts, session_id, site, order_id, currency, amount, amount_base, path, country, device, is_bot)
FROM (
  SELECT event_id, type, ts, session_id, site, order_id, currency, amount, amount_base, path, country, device, is_bot
  FROM events
  WHERE customer_id = {id:String} OR anonymous_id IN {anon:Array(String)}
  ORDER BY ts DESC
  LIMIT {max_events:UInt32}
)
UNION ALL
SELECT 'refund', formatRowNoNewline('JSONEachRow', event_id, order_id, ts, amount, amount_base)
FROM events
WHERE type = 'refund' AND order_id IN (SELECT order_id FROM order_items WHERE customer_id = {id:String} OR anonymous_id IN {anon:Array(String)})
UNION ALL
SELECT 'item', formatRowNoNewline('JSONEachRow', order_id, product_id, category, quantity, price)
FROM order_items FINAL
WHERE customer_id = {id:String} OR anonymous_id IN {anon:Array(String)}
