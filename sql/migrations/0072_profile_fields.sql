-- The profile's plain fields (trust, consent, country, first and last seen) per (site, customer) with one
-- level of plain aggregates, and the home profile built from them: what consent, segments, models and
-- the transformer's country cache read. customer_profiles (0071) also merges the traits, trait by trait,
-- which only the customer 360 needs and reads for one customer at a time; read over every customer it
-- cost seconds (measured: 50k customers, 150k identify rows, 4.2 s for customers_opted_out).
-- Same rules as customer_profiles: only the rows of the customer's highest trust level count; consent is
-- the latest stated one (a withdrawal wins a tie), 1 when that level never stated it.
-- No FINAL: a re-delivered identify is the same row again, which max/min/argMax fold anyway.
-- NOTE: tuples (trust, …) compare trust first, so min/max/argMax over them pick the highest trust level;
-- columns are renamed in the subquery so the result aliases do not shadow them in the aggregates.
CREATE OR REPLACE VIEW customer_profile_fields AS
SELECT
  site,
  customer_id,
  verified,
  if(stated > 0 AND consent_trust = verified, consent_latest, toUInt8(1)) AS consent,
  if(country_trust = verified, country_latest, '') AS country,
  first_seen,
  updated_at
FROM (
  SELECT
    site,
    customer_id,
    max(trust) AS verified,
    countIf(c != 2) AS stated,
    maxIf(trust, c != 2) AS consent_trust,
    argMaxIf(c, (trust, u, c = 0, eid), c != 2) AS consent_latest,
    maxIf(trust, ctry != '') AS country_trust,
    argMaxIf(ctry, (trust, u, eid), ctry != '') AS country_latest,
    min((1 - trust, fs)).2 AS first_seen,
    max((trust, u)).2 AS updated_at
  FROM (
    SELECT site, customer_id, toUInt8(1 - unverified) AS trust, consent AS c, CAST(country AS String) AS ctry, first_seen AS fs, updated_at AS u, event_id AS eid
    FROM customers
  )
  GROUP BY site, customer_id
);

-- One row per customer id: the site that vouched for the customer, else the first one that saw them.
CREATE OR REPLACE VIEW customer_home_profiles AS
SELECT
  customer_id,
  argMax(s, k) AS site,
  max(v) AS verified,
  argMax(c, k) AS consent,
  argMax(ctry, k) AS country,
  argMax(fs, k) AS first_seen,
  argMax(u, k) AS updated_at
FROM (
  SELECT customer_id, site AS s, verified AS v, consent AS c, country AS ctry, first_seen AS fs, updated_at AS u, (verified, -toUnixTimestamp64Milli(first_seen)) AS k
  FROM customer_profile_fields
)
GROUP BY customer_id;

-- customer_profiles (0071) without FINAL, for the same reason.
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
