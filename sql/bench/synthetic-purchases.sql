-- Synthetic purchase history for the model benchmark, generated inside ClickHouse: {customers} customers,
-- {events} purchase events spread over the last 365 days before {now}, each customer with their own rate
-- (a skewed draw, so frequencies look like a shop's), amounts 5-205 in USD, one line item each.
INSERT INTO events (event_id, type, ts, received_at, site, customer_id, order_id, product_id, category, quantity, price, currency, amount, amount_base, log_topic)
SELECT
  generateUUIDv4(number) AS event_id,
  'purchase',
  {now:DateTime64(3)} - toIntervalSecond(cityHash64(number, 1) % (365 * 86400)) AS ts,
  ts,
  'bench',
  concat('B', toString(floor(pow((cityHash64(number, 2) % 1000000) / 1000000, 2.5) * {customers:UInt32}))) AS customer_id,
  concat('bo', toString(number)),
  concat('P', toString(cityHash64(number, 3) % 2000)),
  concat('cat', toString(cityHash64(number, 3) % 2000 % 20)),
  1,
  5 + (cityHash64(number, 4) % 20000) / 100 AS price,
  'USD',
  price,
  price,
  'bench'
FROM numbers({events:UInt64})
