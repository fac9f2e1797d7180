-- Popular lists for cold start, all from this run's interactions (strength-weighted and decayed):
-- overall, per category, per country (the actor's country) and trending. Trending is recent velocity:
-- with r = weighted activity in the last trend_days and b = the activity the item usually has in that
-- many days (from the baseline_days before), score = r² / (r + b): rising items keep ~r, steady
-- ones get ~r/2, items that are merely always popular sink.
INSERT INTO recs_popular (run_id, list, key, rank, product_id, score)
SELECT {run_id:String}, list, key, rank, product_id, score
FROM (
  SELECT list, key, product_id, score, row_number() OVER (PARTITION BY list, key ORDER BY score DESC, product_id ASC) AS rank
  FROM (
    SELECT 'overall' AS list, '' AS key, product_id, sum(strength) AS score
    FROM recs_interactions WHERE run_id = {run_id:String} GROUP BY product_id
    UNION ALL
    SELECT 'category' AS list, category AS key, product_id, sum(strength) AS score
    FROM recs_interactions WHERE run_id = {run_id:String} AND category != '' GROUP BY category, product_id
    UNION ALL
    SELECT 'country' AS list, toString(country) AS key, product_id, sum(strength) AS score
    FROM recs_interactions WHERE run_id = {run_id:String} AND country != '' GROUP BY key, product_id
    UNION ALL
    SELECT 'trending' AS list, '' AS key, product_id,
      sum(recent) * sum(recent) / (sum(recent) + sum(prior) * {trend_days:UInt32} / {baseline_days:UInt32}) AS score
    FROM recs_interactions WHERE run_id = {run_id:String} GROUP BY product_id HAVING sum(recent) > 0
  )
  WHERE product_id NOT IN (SELECT product_id FROM products FINAL WHERE listed = 0 OR stock <= 0)
)
WHERE rank <= {top_k:UInt32}
