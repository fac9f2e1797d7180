-- Similar items: weighted Jaccard over actors, s(i,j) = Σ_u min(w_ui, w_uj) / (Σ_u w_ui + Σ_u w_uj − Σ_u min(w_ui, w_uj)),
-- where w is the decayed, strength-weighted interaction. With all weights 1 this is SAR's Jaccard on
-- co-occurrence counts. Pairs seen by fewer than min_co_actors actors are noise and dropped; targets that
-- are unlisted or out of stock are left out (a product missing from `products` counts as available).
-- Ranks are numbered only after LIMIT BY has cut each product to its top_k (cheaper than a window
-- over every pair).
INSERT INTO recs_similar (run_id, product_id, rank, similar_id, score, co_actors)
SELECT
  {run_id:String},
  product_id,
  row_number() OVER (PARTITION BY product_id ORDER BY score DESC, similar_id ASC) AS rank,
  similar_id,
  score,
  co_actors
FROM (
  SELECT pr.i AS product_id, pr.j AS similar_id, pr.c / (si.s + sj.s - pr.c) AS score, pr.n AS co_actors
  FROM (
    SELECT a.product_id AS i, b.product_id AS j, sum(least(a.strength, b.strength)) AS c, toUInt32(count()) AS n
    FROM (SELECT actor_id, product_id, strength FROM recs_interactions WHERE run_id = {run_id:String}) AS a
    INNER JOIN (SELECT actor_id, product_id, strength FROM recs_interactions WHERE run_id = {run_id:String}) AS b
      ON a.actor_id = b.actor_id
    WHERE a.product_id != b.product_id
    GROUP BY i, j
    HAVING n >= {min_co_actors:UInt32}
  ) AS pr
  INNER JOIN (SELECT product_id, sum(strength) AS s FROM recs_interactions WHERE run_id = {run_id:String} GROUP BY product_id) AS si
    ON si.product_id = pr.i
  INNER JOIN (SELECT product_id, sum(strength) AS s FROM recs_interactions WHERE run_id = {run_id:String} GROUP BY product_id) AS sj
    ON sj.product_id = pr.j
  WHERE pr.j NOT IN (SELECT product_id FROM products FINAL WHERE listed = 0 OR stock <= 0)
  ORDER BY product_id, score DESC, similar_id
  LIMIT {top_k:UInt32} BY product_id
)
