-- Every order's current state (the latest transition), for the shop's in-memory order book.
SELECT
  order_id, customer_id, anonymous_id, state, currency, total, display_currency, display_total, items,
  toUnixTimestamp64Milli(created_at) AS created_ms,
  toUnixTimestamp64Milli(updated_at) AS updated_ms,
  seq
FROM orders FINAL
ORDER BY created_at
