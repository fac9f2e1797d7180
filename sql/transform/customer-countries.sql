-- Each customer's latest known country, for events that carry none.
SELECT customer_id, argMax(country, updated_at) AS country
FROM customers
GROUP BY customer_id
HAVING country != ''
LIMIT {cap:UInt32}
