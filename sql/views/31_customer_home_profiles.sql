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
