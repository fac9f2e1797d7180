-- The 30 latest model runs, newest first, whatever the dashboard's date range (runs are operations, stamped
-- with the wall clock; the range is about the shop's data): status, duration, rows written, and the run's
-- top-level numeric metrics as key=value (the error instead for a failed run). `fit`: how a CLV run was
-- fitted ('plain', or 'penalised' when the plain maximum was unusable, e.g. on a new shop), with each
-- penalised model's coefficient and reason leading the detail.
SELECT
  model,
  run_id,
  status,
  started_at,
  round(dateDiff('millisecond', started_at, finished_at) / 1000, 2) AS duration_s,
  rows_written,
  JSONExtractString(metrics, 'fit') AS fit,
  concat(
    arrayStringConcat(arrayFilter(x -> x != '', arrayMap(m -> if(JSONExtractString(metrics, m.1, 'fit', 'mode') IN ('penalised', 'prior'),
      concat(m.2, ' λ=', toString(JSONExtractFloat(metrics, m.1, 'fit', 'penalty')), ': ', JSONExtractString(metrics, m.1, 'fit', 'reason'), '; '), ''),
      [('bgnbd', 'BG/NBD'), ('gammagamma', 'Gamma-Gamma')])), ''),
  if(error != '', error, arrayStringConcat(arraySlice(arrayMap(kv -> concat(kv.1, '=', toString(round(toFloat64(kv.2), 4))),
    arrayFilter(kv -> match(kv.2, '^-?[0-9.]+([eE][-+]?[0-9]+)?$') AND kv.1 != 'duration_ms', JSONExtractKeysAndValuesRaw(metrics))), 1, 6), ', '))) AS detail
FROM model_runs FINAL
WHERE status != 'running'
ORDER BY finished_at DESC
LIMIT 30
