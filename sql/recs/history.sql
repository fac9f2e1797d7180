-- Per actor: bought items to leave out (consumables excepted) and the most recent items, for lists
-- built at request time (anonymous visitors, context and cart). Only actors active in the last
-- history_days or with purchases, so the store's memory follows the active audience.
INSERT INTO recs_history (run_id, actor_id, purchased, recent, country)
SELECT
  {run_id:String},
  actor_id,
  arraySort(groupArrayIf(product_id, purchased = 1)),
  arrayMap(x -> x.2, arraySlice(arrayReverseSort(groupArray((last_ts, product_id))), 1, {recent_items:UInt32})),
  anyIf(toString(country), country != '')
FROM recs_interactions
WHERE run_id = {run_id:String}
GROUP BY actor_id
HAVING max(last_ts) > {now:DateTime64(3)} - toIntervalDay({history_days:UInt32}) OR countIf(purchased = 1) > 0
