-- Segment sizes and revenue share of one RFM run.
SELECT
  segment,
  count() AS customers,
  round(sum(monetary), 2) AS revenue,
  round(sum(monetary) / nullIf(sum(sum(monetary)) OVER (), 0), 4) AS revenue_share
FROM rfm_scores
WHERE run_id = {run_id:String}
GROUP BY segment
ORDER BY customers DESC
