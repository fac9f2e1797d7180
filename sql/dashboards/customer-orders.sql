-- One customer's orders (any date), newest first: for the customer 360 page.
SELECT
  order_id,
  min(ts) AS ordered_at,
  any(currency) AS currency,
  round(any(amount), 2) AS amount,
  round(any(amount_base), 2) AS amount_base,
  any(country) AS country
FROM events_resolved
WHERE type = 'purchase' AND resolved_customer_id = {customer:String}
GROUP BY order_id
ORDER BY ordered_at DESC
LIMIT 100
