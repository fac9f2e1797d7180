-- Personal lists for known customers, SAR-style: score(u, j) = Σ_i affinity(u, i) · s(i, j) over the
-- customer's items i (affinity = decayed, strength-weighted) and the stored similar lists. Items the
-- customer bought (consumables excepted) are left out before ranking. `because` names the customer's
-- item that contributed most, for the "because you viewed X" explanation.
INSERT INTO recs_personal (run_id, customer_id, rank, product_id, score, because)
SELECT
  {run_id:String},
  customer_id,
  row_number() OVER (PARTITION BY customer_id ORDER BY score DESC, product_id ASC) AS rank,
  product_id,
  score,
  because
FROM (
  SELECT scored.customer_id AS customer_id, scored.product_id AS product_id, scored.score AS score, scored.because AS because
  FROM (
    SELECT
      a.actor_id AS customer_id,
      s.similar_id AS product_id,
      sum(a.strength * s.score) AS score,
      argMax(a.product_id, a.strength * s.score) AS because
    FROM (SELECT actor_id, product_id, strength FROM recs_interactions WHERE run_id = {run_id:String} AND known = 1) AS a
    INNER JOIN (SELECT product_id, similar_id, score FROM recs_similar WHERE run_id = {run_id:String}) AS s
      ON s.product_id = a.product_id
    GROUP BY customer_id, product_id
  ) AS scored
  LEFT ANTI JOIN (
    SELECT actor_id, product_id FROM recs_interactions WHERE run_id = {run_id:String} AND purchased = 1
  ) AS bought ON bought.actor_id = scored.customer_id AND bought.product_id = scored.product_id
  ORDER BY customer_id, score DESC, product_id
  LIMIT {top_k:UInt32} BY customer_id
)
