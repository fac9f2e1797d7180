-- Each customer's latest known country, for events that carry none: from the merged home profile, so an
-- unverified identify of a customer the shop vouched for does not move it.
SELECT customer_id, country
FROM customer_home_profiles
WHERE country != ''
LIMIT {cap:UInt32}
