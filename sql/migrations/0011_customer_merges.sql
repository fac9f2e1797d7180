-- Customer merges (two ids that are one person: a guest checkout and an account, a shop migration).
-- Like identity links they are resolved at query time: nothing in events is rewritten, so undoing a
-- merge (a row with undone = 1 and a later updated_at) is as cheap as making it.
CREATE TABLE IF NOT EXISTS customer_merges (
  merge_id String,
  from_customer_id String,
  into_customer_id String,
  at DateTime64(3, 'UTC'),
  actor String,
  undone UInt8 DEFAULT 0,
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (merge_id);

-- events_resolved with merges: resolved_customer_id is the event's customer id, else the customer its
-- anonymous id was linked to (identities), then followed through active merges (up to four hops:
-- A into B, later B into C sends A's events to C). The merge map is a scalar subquery, so the view
-- stays one join; transform() looks ids up in a hash table built once per block.
CREATE OR REPLACE VIEW events_resolved AS
WITH (
  SELECT (groupArray(from_id), groupArray(into_id))
  FROM (
    SELECT argMax(from_customer_id, updated_at) AS from_id, argMax(into_customer_id, updated_at) AS into_id
    FROM customer_merges
    GROUP BY merge_id
    HAVING argMax(undone, updated_at) = 0
  )
) AS merges
SELECT
  e.*,
  transform(transform(transform(transform(
    if(e.customer_id != '', e.customer_id, i.linked_customer_id),
    merges.1, merges.2), merges.1, merges.2), merges.1, merges.2), merges.1, merges.2) AS resolved_customer_id
FROM events AS e FINAL
LEFT JOIN (
  SELECT anonymous_id, argMax(customer_id, updated_at) AS linked_customer_id
  FROM identities
  GROUP BY anonymous_id
  HAVING argMax(deleted, updated_at) = 0
) AS i ON e.anonymous_id = i.anonymous_id
WHERE e.is_bot = 0;
