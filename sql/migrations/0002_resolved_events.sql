-- Identity is resolved at query time: an anonymous visitor's events count for the customer they later
-- identified as, and undoing a link (deleted = 1) needs no rewrite of events. Bots are kept in events
-- but left out here, so every model reads this view.
CREATE VIEW IF NOT EXISTS events_resolved AS
SELECT
  e.*,
  if(e.customer_id != '', e.customer_id, i.linked_customer_id) AS resolved_customer_id
FROM events AS e FINAL
LEFT JOIN (
  SELECT anonymous_id, argMax(customer_id, updated_at) AS linked_customer_id
  FROM identities
  GROUP BY anonymous_id
  HAVING argMax(deleted, updated_at) = 0
) AS i ON e.anonymous_id = i.anonymous_id
WHERE e.is_bot = 0;
