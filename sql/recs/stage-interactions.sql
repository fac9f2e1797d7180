-- One row per (actor, product) for this run: actor = the customer (anonymous ids linked to a customer
-- count for them) or the anonymous id. Views, add-to-carts and purchases (order lines) are weighted by
-- strength and decayed by age with a half-life, so last month's purchase outweighs last year's view.
-- Each actor keeps only their strongest max_items products: one wholesaler with thousands of items
-- would otherwise dominate the pair self-join that follows.
INSERT INTO recs_interactions (run_id, actor_id, known, product_id, category, country, strength, purchased, purchased_at, last_ts, recent, prior)
SELECT
  {run_id:String},
  a.actor_id,
  a.known,
  a.product_id,
  if(p.category != '', p.category, a.event_category) AS category,
  a.country,
  a.strength,
  -- Bought items are left out of a customer's lists, except consumables that people buy again.
  a.bought * (category NOT IN {consumables:Array(String)}),
  a.purchased_at,
  a.last_ts,
  a.recent,
  a.prior
FROM (
  SELECT
    actor_id,
    max(known) AS known,
    product_id,
    anyIf(category, category != '') AS event_category,
    anyIf(country, country != '') AS country,
    sum(w * pow(0.5, greatest(0, toUnixTimestamp64Milli({now:DateTime64(3)}) - toUnixTimestamp64Milli(ts)) / {half_life_ms:Float64})) AS strength,
    max(is_purchase) AS bought,
    maxIf(ts, is_purchase = 1) AS purchased_at,
    max(ts) AS last_ts,
    sumIf(w, ts > {now:DateTime64(3)} - toIntervalDay({trend_days:UInt32})) AS recent,
    sumIf(w, ts <= {now:DateTime64(3)} - toIntervalDay({trend_days:UInt32})
          AND ts > {now:DateTime64(3)} - toIntervalDay({trend_days:UInt32} + {baseline_days:UInt32})) AS prior
  FROM (
    SELECT
      if(resolved_customer_id != '', resolved_customer_id, anonymous_id) AS actor_id,
      toUInt8(resolved_customer_id != '') AS known,
      product_id,
      category,
      toString(country) AS country,
      ts,
      if(type = 'add_to_cart', {w_cart:Float64}, {w_view:Float64}) AS w,
      toUInt8(0) AS is_purchase
    FROM events_consented
    WHERE type IN ('product_view', 'add_to_cart')
      AND product_id != ''
      AND ts > {now:DateTime64(3)} - toIntervalDay({lookback_days:UInt32})
      AND ts <= {now:DateTime64(3)}
    UNION ALL
    SELECT
      if(e.resolved_customer_id != '', e.resolved_customer_id, e.anonymous_id) AS actor_id,
      toUInt8(e.resolved_customer_id != '') AS known,
      oi.product_id,
      oi.category,
      if(toString(oi.country) != '', toString(oi.country), toString(e.country)) AS country,
      oi.ts,
      {w_purchase:Float64} AS w,
      toUInt8(1) AS is_purchase
    FROM order_items AS oi FINAL
    INNER JOIN (
      SELECT event_id, resolved_customer_id, anonymous_id, country
      FROM events_consented
      WHERE type = 'purchase'
        AND ts > {now:DateTime64(3)} - toIntervalDay({lookback_days:UInt32})
        AND ts <= {now:DateTime64(3)}
    ) AS e ON oi.event_id = e.event_id
    WHERE oi.product_id != ''
  )
  WHERE actor_id != ''
  GROUP BY actor_id, product_id
  ORDER BY actor_id, strength DESC, product_id
  LIMIT {max_items:UInt32} BY actor_id
) AS a
LEFT JOIN (
  SELECT product_id, argMax(category, updated_at) AS category FROM products GROUP BY product_id
) AS p ON p.product_id = a.product_id
