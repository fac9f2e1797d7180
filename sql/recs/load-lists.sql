-- Every list of one run in one read, ordered so each list arrives best first.
SELECT kind, list, key, id, score, extra FROM (
  SELECT 'personal' AS kind, '' AS list, customer_id AS key, rank, product_id AS id, score, because AS extra
  FROM recs_personal WHERE run_id = {run_id:String}
  UNION ALL
  SELECT 'similar' AS kind, '' AS list, product_id AS key, rank, similar_id AS id, score, '' AS extra
  FROM recs_similar WHERE run_id = {run_id:String}
  UNION ALL
  SELECT 'bought_together' AS kind, '' AS list, product_id AS key, rank, other_id AS id, lift AS score, toString(confidence) AS extra
  FROM recs_bought_together WHERE run_id = {run_id:String}
  UNION ALL
  SELECT 'popular' AS kind, toString(list) AS list, key, rank, product_id AS id, score, '' AS extra
  FROM recs_popular WHERE run_id = {run_id:String}
)
ORDER BY kind, list, key, rank
