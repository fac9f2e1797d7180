-- Current anonymous → customer links (the latest row per anonymous id, unless that row unlinks it),
-- the same rule as the events_resolved view.
SELECT anonymous_id, argMax(customer_id, updated_at) AS customer_id
FROM identities
GROUP BY anonymous_id
HAVING argMax(deleted, updated_at) = 0 AND customer_id != ''
