-- Churn features per known customer at a cut-off time, plus the label "no purchase in (cutoff, label_end]".
-- Features only see events up to the cut-off; the label window is read for the label alone.
-- Params: cutoff, label_end (DateTime64(3, 'UTC')); pass label_end = cutoff when scoring the present.
-- Definitions match models/churn/transaction-features.ts (the file-based version used by `cvm churn evaluate`).
WITH
orders AS (
  -- One row per order, so a purchase re-sent under a new event_id is not counted twice.
  SELECT
    resolved_customer_id AS customer_id,
    if(order_id = '', toString(event_id), order_id) AS order_key,
    min(ts) AS order_ts,
    max(amount_base) AS amount
  FROM events_consented
  WHERE type = 'purchase' AND resolved_customer_id != '' AND ts <= {label_end:DateTime64(3, 'UTC')}
  GROUP BY customer_id, order_key
),
buyers AS (
  SELECT
    customer_id,
    countIf(order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS frequency,
    -- Distinct purchase days, as BG/NBD counts them (same-day orders merge into one transaction).
    arraySort(groupUniqArrayIf(toRelativeDayNum(order_ts), order_ts <= {cutoff:DateTime64(3, 'UTC')})) AS days,
    minIf(order_ts, order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS first_ts,
    maxIf(order_ts, order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS last_ts,
    sumIf(amount, order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS gross,
    countIf(order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 30 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS purchases_30d,
    countIf(order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 60 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')} - INTERVAL 30 DAY) AS purchases_prev_30d,
    countIf(order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 90 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS purchases_90d,
    countIf(order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 180 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')} - INTERVAL 90 DAY) AS purchases_prev_90d,
    sumIf(amount, order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 30 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS spend_30d,
    sumIf(amount, order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 60 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')} - INTERVAL 30 DAY) AS spend_prev_30d,
    sumIf(amount, order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 90 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')}) AS spend_90d,
    sumIf(amount, order_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 180 DAY AND order_ts <= {cutoff:DateTime64(3, 'UTC')} - INTERVAL 90 DAY) AS spend_prev_90d,
    countIf(order_ts > {cutoff:DateTime64(3, 'UTC')}) AS future_orders
  FROM orders
  GROUP BY customer_id
  HAVING frequency > 0
),
sessions AS (
  -- Per visit first, so a cart and a purchase can be matched within the same session.
  SELECT
    resolved_customer_id AS customer_id,
    session_id,
    max(ts) AS last_ts,
    countIf(type = 'add_to_cart') > 0 AS carted,
    countIf(type = 'purchase') > 0 AS bought,
    countIf(type = 'refund') AS refunds,
    sumIf(amount_base, type = 'refund') AS refunded,
    countIf(type = 'review' AND rating BETWEEN 1 AND 5) AS reviews,
    sumIf(rating, type = 'review' AND rating BETWEEN 1 AND 5) AS rating_sum
  FROM events_consented
  WHERE resolved_customer_id != '' AND ts <= {cutoff:DateTime64(3, 'UTC')}
  GROUP BY customer_id, session_id
),
behaviour AS (
  SELECT
    customer_id,
    countIf(session_id != '' AND last_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 30 DAY) AS sessions_30d,
    countIf(session_id != '' AND carted AND NOT bought AND last_ts > {cutoff:DateTime64(3, 'UTC')} - INTERVAL 90 DAY) AS abandoned_carts_90d,
    sum(refunds) AS refund_count,
    sum(refunded) AS refund_amount,
    sum(reviews) AS review_count,
    sum(rating_sum) AS rating_sum
  FROM sessions
  GROUP BY customer_id
)
SELECT
  b.customer_id AS customer_id,
  (toUnixTimestamp64Milli({cutoff:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(b.last_ts)) / 86400000 AS recency_days,
  b.frequency AS frequency,
  length(b.days) AS purchase_days,
  b.gross - h.refund_amount AS monetary,
  arrayPopFront(arrayDifference(b.days)) AS gaps,
  if(length(gaps) = 0, 0, arrayAvg(gaps)) AS ipt_mean_days,
  if(length(gaps) = 0, 0, sqrt(arrayReduce('varPop', gaps))) AS ipt_std_days,
  b.purchases_30d AS purchases_30d,
  b.purchases_prev_30d AS purchases_prev_30d,
  b.purchases_90d AS purchases_90d,
  b.purchases_prev_90d AS purchases_prev_90d,
  b.spend_30d AS spend_30d,
  b.spend_prev_30d AS spend_prev_30d,
  b.spend_90d AS spend_90d,
  b.spend_prev_90d AS spend_prev_90d,
  h.sessions_30d AS sessions_30d,
  h.abandoned_carts_90d AS abandoned_carts_90d,
  h.review_count AS review_count,
  if(h.review_count = 0, 0, h.rating_sum / h.review_count) AS review_rating_mean,
  h.refund_count AS refund_count,
  h.refund_amount AS refund_amount,
  (toUnixTimestamp64Milli({cutoff:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(b.first_ts)) / 86400000 AS tenure_days,
  length(b.days) - 1 AS x,
  (toUnixTimestamp64Milli(b.last_ts) - toUnixTimestamp64Milli(b.first_ts)) / 86400000 AS t_x_days,
  tenure_days AS T_days,
  if(b.future_orders = 0, 1, 0) AS churned
FROM buyers AS b
LEFT JOIN behaviour AS h ON h.customer_id = b.customer_id
ORDER BY customer_id
SETTINGS join_use_nulls = 0
