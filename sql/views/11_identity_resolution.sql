-- Identity resolution, defined once: any id -> the customer it resolves to. Every reader (events_resolved,
-- sessions, the customer 360, and through them segments, models and dashboards) joins this view, so a
-- link, an unlink, a merge or an undo shows everywhere at once, with nothing in events rewritten.
-- Rows, keyed by (site, id):
--   kind 'customer':  a customer id merged away (site ''; merges are not per site) -> the customer it
--                     finally resolves to;
--   kind 'anonymous': an anonymous id of a site -> the customer its link points at (identity_links),
--                     followed through merges.
-- An id without a row resolves to itself (a customer id) or to nobody (an anonymous id). A reader looks an
-- event up by site = if(customer_id != '', '', site), id = if(customer_id != '', customer_id, anonymous_id).
-- Merges (customer_merges, 0011): a merge and its undo are two rows of one merge_id, the latest decides.
-- Chains are followed up to four hops (A into B, later B into C sends A to C; transform/merges.ts refuses
-- longer ones). The merge map is one scalar subquery, computed once per query and looked up by transform()
-- in a hash table, so a reader's join stays one join.
CREATE OR REPLACE VIEW identity_resolution AS
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
  kind,
  site,
  id,
  transform(transform(transform(transform(target, merges.1, merges.2), merges.1, merges.2), merges.1, merges.2), merges.1, merges.2) AS customer_id,
  source,
  first_seen
FROM (
  SELECT 'customer' AS kind, '' AS site, arrayJoin(merges.1) AS id, id AS target, 'merge' AS source, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS first_seen
  UNION ALL
  SELECT 'anonymous', CAST(site AS String), anonymous_id, linked_customer_id, CAST(source AS String), first_seen FROM identity_links
);
