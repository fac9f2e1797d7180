-- Buyers per day or week: new (their first order ever is in that bucket) versus returning.
-- One scan: per customer, the first purchase day (any country) and the buckets they bought in
-- within the range and filters.
WITH
  {from:Date} AS d_from,
  {to:Date} AS d_to,
  dateDiff('day', d_from, d_to) + 1 AS span,
  {grain:String} = 'week' AS weekly,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  per_customer AS (
    SELECT
      resolved_customer_id AS customer,
      toDate(min(ts)) AS first_day,
      groupUniqArrayIf(if(weekly, toMonday(toDate(ts)), toDate(ts)),
        toDate(ts) >= d_from AND ({country:String} = '' OR country = {country:String})) AS buckets
    FROM events_resolved
    WHERE type = 'purchase' AND resolved_customer_id != '' AND toDate(ts) <= d_to
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY customer
  ),
  per_bucket AS (
    SELECT
      bucket,
      countIf(if(weekly, toMonday(first_day), first_day) = bucket) AS new_customers,
      countIf(if(weekly, toMonday(first_day), first_day) < bucket) AS returning_customers
    FROM per_customer
    ARRAY JOIN buckets AS bucket
    GROUP BY bucket
  ),
  calendar AS (
    SELECT DISTINCT if(weekly, toMonday(d_from + number), d_from + number) AS bucket
    FROM numbers(toUInt64(span))
  )
SELECT c.bucket AS bucket, p.new_customers AS new_customers, p.returning_customers AS returning_customers
FROM calendar AS c
LEFT JOIN per_bucket AS p ON p.bucket = c.bucket
ORDER BY bucket
