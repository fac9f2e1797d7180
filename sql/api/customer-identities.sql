-- Who {id} is in the identity resolution (sql/views/11_identity_resolution.sql): the anonymous ids and
-- the merged customer ids that resolve to it, and the customer it was itself merged into (kind =
-- 'customer' AND id = {id}). The customer 360 reads the customer's events and sessions through the same
-- view (events_resolved, sessions); these ids only narrow those reads.
SELECT kind, site, id, customer_id, source, first_seen
FROM identity_resolution
WHERE customer_id = {id:String} OR (kind = 'customer' AND id = {id:String})
ORDER BY first_seen, site, id
