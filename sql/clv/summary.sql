-- Per-customer purchase summary for the CLV job, in days as of {as_of}; the job converts to weeks.
-- An order counts once (a re-sent purchase event carries the same order_id) and its refunds are netted
-- against it; a fully refunded order is not a purchase. Orders are then merged per customer and UTC
-- calendar day, the "transaction" of BG/NBD. frequency = transaction days after the first,
-- recency_days = first to last, age_days = first to {as_of}, monetary = mean value of the repeat days.
WITH
  orders AS (
    SELECT
      resolved_customer_id AS customer_id,
      if(order_id = '', toString(event_id), order_id) AS order_key,
      min(ts) AS first_ts,
      argMin(amount_base, ts) AS amount
    FROM events_consented
    WHERE type = 'purchase' AND resolved_customer_id != '' AND ts <= {as_of:DateTime64(3, 'UTC')}
    GROUP BY customer_id, order_key
  ),
  refunds AS (
    SELECT order_id AS order_key, sum(amount_base) AS refunded
    FROM events_consented
    WHERE type = 'refund' AND order_id != '' AND ts <= {as_of:DateTime64(3, 'UTC')}
    GROUP BY order_key
  ),
  days AS (
    SELECT o.customer_id AS customer_id, toDate(o.first_ts) AS day, sum(greatest(o.amount - r.refunded, 0)) AS spend
    FROM orders AS o
    LEFT JOIN refunds AS r ON o.order_key = r.order_key
    WHERE NOT (r.refunded > 0 AND r.refunded >= o.amount)
    GROUP BY customer_id, day
  )
SELECT
  customer_id,
  toUInt32(count() - 1) AS frequency,
  toInt32(dateDiff('day', min(day), max(day))) AS recency_days,
  toInt32(dateDiff('day', min(day), toDate({as_of:DateTime64(3, 'UTC')}))) AS age_days,
  toFloat64(if(count() > 1, (sum(spend) - argMin(spend, day)) / (count() - 1), 0)) AS monetary
FROM days
GROUP BY customer_id
ORDER BY customer_id
