-- Every customer merge in its latest state (a merge and its undo are two rows of one merge_id).
-- NOTE: columns are renamed in the subquery so the result aliases do not shadow them in the aggregates.
SELECT
  merge_id,
  argMax(f, u) AS from_customer_id,
  argMax(i, u) AS into_customer_id,
  argMax(a, u) AS at,
  argMax(who, u) AS actor,
  argMax(gone, u) AS undone,
  max(u) AS updated_at
FROM (
  SELECT merge_id, from_customer_id AS f, into_customer_id AS i, at AS a, actor AS who, undone AS gone, updated_at AS u
  FROM customer_merges
  WHERE {id:String} = '' OR merge_id = {id:String}
)
GROUP BY merge_id
ORDER BY at DESC, merge_id
LIMIT {limit:UInt32}
