-- The catalogue as the shop serves it: the latest row per product, with available stock = the stock
-- that row set plus every reservation (negative) and release (positive) recorded after it.
SELECT
  p.product_id AS product_id,
  any(p.title) AS title,
  any(p.description) AS description,
  any(p.category) AS category,
  any(p.tags) AS tags,
  any(p.price) AS price,
  any(p.currency) AS currency,
  any(p.listed) AS listed,
  toInt64(any(p.stock)) + sumIf(d.delta, d.recorded_at > p.updated_at) AS stock,
  toUnixTimestamp64Milli(any(p.updated_at)) AS updated_ms
FROM (SELECT * FROM products FINAL) AS p
LEFT JOIN (
  SELECT tupleElement(x, 1) AS product_id, toInt64(tupleElement(x, 2)) AS delta, recorded_at
  FROM order_events FINAL
  ARRAY JOIN stock_delta AS x
) AS d ON d.product_id = p.product_id
GROUP BY p.product_id
ORDER BY p.product_id
