-- Available products with their category: those seen in this run's interactions plus every listed,
-- in-stock product of the catalogue (so a new product has a category for cold start before anyone saw it).
INSERT INTO recs_catalog (run_id, product_id, category, popularity)
SELECT {run_id:String}, product_id, anyIf(category, category != ''), sum(strength)
FROM (
  SELECT product_id, category, strength FROM recs_interactions WHERE run_id = {run_id:String}
  UNION ALL
  SELECT product_id, category, 0 AS strength FROM products FINAL
)
WHERE product_id NOT IN (SELECT product_id FROM products FINAL WHERE listed = 0 OR stock <= 0)
GROUP BY product_id
