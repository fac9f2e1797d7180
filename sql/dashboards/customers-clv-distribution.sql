-- Latest CLV run: how many customers fall in each value band, and the value the band holds.
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'clv' AND status = 'ok') AS clv_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  [0, 25, 50, 100, 200, 400, 800, 1600] AS edges
SELECT
  band_no,
  if(band_no = length(edges), concat(toString(edges[band_no]), '+'), concat(toString(edges[band_no]), '–', toString(edges[band_no + 1]))) AS band,
  count() AS customers,
  round(sum(clv), 2) AS total_clv
FROM (
  SELECT clv, arrayCount(e -> e <= greatest(clv, 0), edges) AS band_no
  FROM clv_scores
  WHERE run_id = clv_run
    AND ({segment:String} = '' OR customer_id IN (SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
    AND ({country:String} = '' OR customer_id IN (
      SELECT customer_id FROM customers GROUP BY customer_id HAVING argMax(country, updated_at) = {country:String}))
)
GROUP BY band_no
ORDER BY band_no
