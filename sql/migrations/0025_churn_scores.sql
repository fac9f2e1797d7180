-- Churn risk per customer per run; the API serves the latest run whose status is 'ok'.
-- model_used says which candidate produced churn_risk ('logistic', 'mlp', 'p_alive', ...), reasons are
-- short human-readable sentences, most important first. p_alive is NULL when BG/NBD could not be fitted.
CREATE TABLE IF NOT EXISTS churn_scores (
  run_id String,
  customer_id String,
  churn_risk Float64,
  p_alive Nullable(Float64),
  model_used LowCardinality(String),
  reasons Array(String),
  computed_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (run_id, customer_id);
