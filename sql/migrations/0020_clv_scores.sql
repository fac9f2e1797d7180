-- Customer lifetime value per customer per run (BG/NBD + Gamma-Gamma, written by models/clv/clv.job.ts).
-- Readers take the latest run whose status is 'ok' (latestRunId), so a run's rows appear all at once.
-- Times are in weeks, money in the base currency; expected_purchases is over CVM_CLV_HORIZON_DAYS and
-- clv is discounted at CVM_CLV_DISCOUNT_RATE (annual).
CREATE TABLE IF NOT EXISTS clv_scores (
  run_id String,
  customer_id String,
  frequency UInt32,
  recency_weeks Float64,
  T_weeks Float64,
  monetary Float64,
  p_alive Float64,
  expected_purchases Float64,
  expected_spend Float64,
  clv Float64,
  computed_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (run_id, customer_id);
