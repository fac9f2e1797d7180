-- What visitors searched for and found nothing: the shop's missing assortment or missing synonyms.
WITH (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run
SELECT
  search_query AS query,
  count() AS searches,
  uniqExact(if(resolved_customer_id != '', resolved_customer_id, anonymous_id)) AS visitors,
  max(ts) AS last_searched
FROM events_resolved
WHERE type = 'search' AND search_results = 0 AND search_query != ''
  AND toDate(ts) BETWEEN {from:Date} AND {to:Date}
  AND ({country:String} = '' OR country = {country:String})
  AND ({segment:String} = '' OR resolved_customer_id IN (
    SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run AND segment = {segment:String}))
GROUP BY query
ORDER BY searches DESC, query
LIMIT 25
