-- Model runs that finished in [from, to], newest first: status, duration, rows written, and the run's
-- top-level numeric metrics as key=value (the error instead for a failed run).
SELECT
  model,
  run_id,
  status,
  started_at,
  round(dateDiff('millisecond', started_at, finished_at) / 1000, 2) AS duration_s,
  rows_written,
  if(error != '', error, arrayStringConcat(arraySlice(arrayMap(kv -> concat(kv.1, '=', toString(round(toFloat64(kv.2), 4))),
    arrayFilter(kv -> match(kv.2, '^-?[0-9.]+([eE][-+]?[0-9]+)?$') AND kv.1 != 'duration_ms', JSONExtractKeysAndValuesRaw(metrics))), 1, 6), ', ')) AS detail
FROM model_runs FINAL
WHERE status != 'running' AND toDate(finished_at) BETWEEN {from:Date} AND {to:Date}
ORDER BY finished_at DESC
LIMIT 30
