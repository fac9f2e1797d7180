-- One merged profile per (site, customer): each trait's latest value (by event time, then event id), a
-- trait sent as null removed; country the latest one known; consent the latest one stated, a withdrawal
-- winning a tie. Only the rows of the customer's highest trust level take part (see identity_links).
-- No FINAL, as in customer_profile_fields.
-- NOTE: entries are (trust, kind, key, value, first_seen, updated_at); kind 0 = a trait, 1 = a profile
-- field, so a shop's own trait named like a field cannot collide with it.
CREATE OR REPLACE VIEW customer_profiles AS
SELECT
  site,
  customer_id,
  sealed AS verified,
  arrayFilter(e -> e.1 = sealed, entries) AS mine,
  concat('{', arrayStringConcat(arrayMap(e -> concat(toJSONString(e.3), ':', e.4), arraySort(e -> e.3, arrayFilter(e -> e.2 = 0 AND e.4 != 'null', mine))), ','), '}') AS traits,
  toUInt8(arrayFirst(e -> e.2 = 1 AND e.3 = 'consent', mine).4 != '0') AS consent,
  arrayFirst(e -> e.2 = 1 AND e.3 = 'country', mine).4 AS country,
  arrayMin(e -> e.5, mine) AS first_seen,
  arrayMax(e -> e.6, mine) AS updated_at
FROM (
  SELECT site, customer_id, max(trust) AS sealed, groupArray((trust, kind, key, value, first_seen, updated_at)) AS entries
  FROM (
    -- NOTE: columns are renamed in the subquery so the result aliases do not shadow them in the aggregates.
    SELECT
      site, customer_id, trust, kind, key,
      argMax(v, (u, kind = 1 AND key = 'consent' AND v = '0', eid)) AS value,
      min(fs) AS first_seen,
      max(u) AS updated_at
    FROM (
      SELECT site, customer_id, toUInt8(1 - unverified) AS trust, first_seen AS fs, updated_at AS u, event_id AS eid, e.1 AS kind, e.2 AS key, e.3 AS v
      FROM customers
      ARRAY JOIN arrayConcat(
        [(toUInt8(1), 'row', '')],
        if(country != '', [(toUInt8(1), 'country', CAST(country AS String))], []),
        if(consent != 2, [(toUInt8(1), 'consent', toString(consent))], []),
        arrayMap(kv -> (toUInt8(0), kv.1, kv.2), JSONExtractKeysAndValuesRaw(traits))
      ) AS e
    )
    GROUP BY site, customer_id, trust, kind, key
  )
  GROUP BY site, customer_id
);
