-- Which of these ids the store knows as a customer: a profile, an identity link, or an event.
SELECT DISTINCT customer_id FROM (
  SELECT customer_id FROM customers WHERE customer_id IN {ids:Array(String)}
  UNION ALL
  SELECT customer_id FROM identities WHERE customer_id IN {ids:Array(String)}
  UNION ALL
  SELECT customer_id FROM events WHERE customer_id IN {ids:Array(String)}
)
