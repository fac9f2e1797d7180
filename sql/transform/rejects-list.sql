-- Dead letters for an operator, newest first. reason matches anywhere in the text, case-insensitively,
-- so `--reason "unknown currency"` finds every currency.
SELECT
  toString(reject_id) AS reject_id, received_at, rejected_at, source, site, event_id, field, reason, raw, replayed,
  count() OVER () AS matching
FROM events_rejected FINAL
WHERE ({reason:String} = '' OR positionCaseInsensitive(reason, {reason:String}) > 0)
  AND ({all:UInt8} = 1 OR replayed = 0)
ORDER BY rejected_at DESC, reject_id
LIMIT {limit:UInt32}
