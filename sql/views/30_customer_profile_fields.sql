-- The profile's plain fields (trust, consent, country, first and last seen) per (site, customer) with one
-- level of plain aggregates: what consent, segments, models and the transformer's country cache read (via
-- customer_home_profiles). customer_profiles also merges the traits, trait by trait, which only the
-- customer 360 needs and reads for one customer at a time; read over every customer it cost seconds
-- (measured: 50k customers, 150k identify rows, 4.2 s for customers_opted_out).
-- Trust (see identity_links): only the rows of the customer's highest trust level count; consent is the
-- latest stated one (a withdrawal wins a tie), 1 when that level never stated it.
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
