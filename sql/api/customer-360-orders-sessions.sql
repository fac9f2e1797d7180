-- The customer 360's sessions, refunds and order lines, read for what api/customer-360.sql found: the
-- sessions view's sessions of the customer among those their events were in ({session_sites}, {session_ids}),
-- refunds of their orders ({order_sites}, {order_ids}; a shop back end may send a refund without the
-- customer's id), and the lines of their purchase events ({purchases}). Each row is (kind, payload JSON).
SELECT 'session' AS kind, formatRowNoNewline('JSONEachRow', session_id, site, started_at, ended_at, duration_s, page_views, events, pages, bounced, entry_path, exit_path, converted, orders, revenue_base, country, device) AS payload
FROM (
  SELECT
    session_id, site, started_at, ended_at, duration_s, toUInt32(page_views) AS page_views, toUInt32(events) AS events,
    toUInt32(pages) AS pages, toBool(bounced) AS bounced, entry_path, exit_path, toBool(converted) AS converted, toUInt32(orders) AS orders,
    revenue_base, country, device
  FROM sessions
  WHERE customer_id = {id:String} AND (site, session_id) IN arrayZip({session_sites:Array(String)}, {session_ids:Array(String)})
  ORDER BY started_at DESC, session_id
  LIMIT {sessions_shown:UInt32}
)
UNION ALL
-- Refunds belong to orders, not to ids: the resolution already chose the orders, so they are read from
-- events by order (retried ones are folded by event id in api/customer-360.ts).
SELECT 'refund', formatRowNoNewline('JSONEachRow', event_id, order_id, amount, amount_base)
FROM events
WHERE type = 'refund' AND (site, order_id) IN arrayZip({order_sites:Array(String)}, {order_ids:Array(String)})
UNION ALL
SELECT 'item', formatRowNoNewline('JSONEachRow', order_id, product_id, category, quantity, price)
FROM order_items FINAL
WHERE order_id IN {order_ids:Array(String)} AND event_id IN {purchases:Array(UUID)}
