-- Anonymous id → the customer it resolves to (trusted links, followed through merges), as every other
-- reader sees it: identity_resolution (sql/views). Ids are per site; the store keys by id, which the
-- shop's single site makes exact.
SELECT id AS anonymous_id, customer_id
FROM identity_resolution
WHERE kind = 'anonymous' AND customer_id != ''
