-- Highest log offset already stored per table for one topic/partition (-1 when none): the transformer
-- skips records at or below them when the log hands a batch over again.
SELECT
  (SELECT if(count() = 0, -1, toInt64(max(log_offset))) FROM events WHERE log_topic = {t:String} AND log_partition = {p:UInt32}) AS ev,
  (SELECT if(count() = 0, -1, toInt64(max(log_offset))) FROM events_rejected WHERE log_topic = {t:String} AND log_partition = {p:UInt32}) AS rj,
  (SELECT if(count() = 0, -1, toInt64(max(log_offset))) FROM order_items WHERE log_topic = {t:String} AND log_partition = {p:UInt32}) AS it
