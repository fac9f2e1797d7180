-- Monthly first-purchase cohorts (the 12 months up to {to}): share of each cohort buying again
-- in each later month. Month 0 is the first purchase month itself (100%). One scan of the events.
WITH
  addMonths(toStartOfMonth({to:Date}), -11) AS first_month,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  per_customer AS (
    SELECT resolved_customer_id AS customer, groupUniqArray(toStartOfMonth(toDate(ts))) AS months
    FROM events_resolved
    WHERE type = 'purchase' AND resolved_customer_id != '' AND toDate(ts) <= {to:Date}
      AND ({country:String} = '' OR country = {country:String})
      AND ({segment:String} = '' OR resolved_customer_id IN (
        SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    GROUP BY customer
  ),
  cells AS (
    SELECT cohort_month, dateDiff('month', cohort_month, month) AS offset, count() AS customers
    FROM (SELECT arrayMin(months) AS cohort_month, arrayJoin(months) AS month FROM per_customer)
    WHERE cohort_month >= first_month
    GROUP BY cohort_month, offset
  )
SELECT
  formatDateTime(cohort_month, '%Y-%m') AS cohort,
  toString(offset) AS month_offset,
  customers,
  max(customers) OVER (PARTITION BY cohort_month) AS cohort_size,
  round(customers / cohort_size, 4) AS retention
FROM cells
ORDER BY cohort_month, offset
