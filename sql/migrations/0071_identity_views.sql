-- Identity resolution and profiles, defined once and read by every view, job and API answer (issue 13).
--
-- Trust: a row is verified when the shop vouched for it (its back end, or a browser identify carrying the
-- shop's signature of the customer id). For a customer that has any verified profile row ("sealed"), only
-- verified rows and links count; unverified ones count only while the shop never vouched for the customer,
-- so a shop that does not sign yet keeps working and a forged identify cannot touch a signed-up customer.

-- Current anonymous id -> customer link per site. A verified link outranks an unverified one of the same
-- anonymous id; an unverified link to a sealed customer is ignored. Events of one site are never resolved
-- through another site's link.
CREATE OR REPLACE VIEW identity_links AS
SELECT site, anonymous_id, linked_customer_id
FROM (
  SELECT
    site,
    anonymous_id,
    argMax(customer_id, (1 - unverified, updated_at)) AS linked_customer_id,
    argMax(unverified, (1 - unverified, updated_at)) AS link_unverified,
    argMax(deleted, (1 - unverified, updated_at)) AS link_deleted
  FROM identities
  GROUP BY site, anonymous_id
)
WHERE link_deleted = 0
  AND (link_unverified = 0 OR linked_customer_id NOT IN (SELECT customer_id FROM customers WHERE unverified = 0));

-- One merged profile per (site, customer): each trait's latest value (by event time, then event id), a
-- trait sent as null removed; country the latest one known; consent the latest one stated, a withdrawal
-- winning a tie. Only the rows of the customer's highest trust level take part (see above).
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
      FROM customers FINAL
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

-- The profile a customer id shows where no site is named (the 360, segments, models): the site that
-- vouched for the customer, else the first one that saw them.
CREATE OR REPLACE VIEW customer_home_profiles AS
SELECT site, customer_id, verified, traits, consent, country, first_seen, updated_at
FROM customer_profiles
ORDER BY customer_id, verified DESC, first_seen ASC, site ASC
LIMIT 1 BY customer_id;

CREATE OR REPLACE VIEW customers_opted_out AS
SELECT customer_id FROM customer_home_profiles WHERE consent = 0;

CREATE OR REPLACE VIEW customers_consented AS
SELECT customer_id FROM customer_home_profiles WHERE consent = 1;

-- events_resolved (0011) with links from identity_links: same site, trust applied.
CREATE OR REPLACE VIEW events_resolved AS
WITH (
  SELECT (groupArray(from_id), groupArray(into_id))
  FROM (
    SELECT argMax(from_customer_id, updated_at) AS from_id, argMax(into_customer_id, updated_at) AS into_id
    FROM customer_merges
    GROUP BY merge_id
    HAVING argMax(undone, updated_at) = 0
  )
) AS merges
SELECT
  e.*,
  transform(transform(transform(transform(
    if(e.customer_id != '', e.customer_id, i.linked_customer_id),
    merges.1, merges.2), merges.1, merges.2), merges.1, merges.2), merges.1, merges.2) AS resolved_customer_id
FROM events AS e FINAL
LEFT JOIN identity_links AS i ON e.site = i.site AND e.anonymous_id = i.anonymous_id
WHERE e.is_bot = 0;

-- sessions (0012) with links from identity_links.
CREATE OR REPLACE VIEW sessions AS
WITH (
  SELECT (groupArray(from_id), groupArray(into_id))
  FROM (
    SELECT argMax(from_customer_id, updated_at) AS from_id, argMax(into_customer_id, updated_at) AS into_id
    FROM customer_merges
    GROUP BY merge_id
    HAVING argMax(undone, updated_at) = 0
  )
) AS merges
SELECT
  s.session_id AS session_id,
  s.site AS site,
  s.anonymous_id AS anonymous_id,
  transform(transform(transform(transform(
    if(s.customer_id != '', s.customer_id, i.linked_customer_id),
    merges.1, merges.2), merges.1, merges.2), merges.1, merges.2), merges.1, merges.2) AS customer_id,
  s.started_at AS started_at,
  s.ended_at AS ended_at,
  toFloat64(dateDiff('millisecond', s.started_at, s.ended_at)) / 1000 AS duration_s,
  s.page_views AS page_views,
  s.events AS events,
  s.pages AS pages,
  s.pages <= 1 AS bounced,
  s.entry_path AS entry_path,
  s.exit_path AS exit_path,
  s.orders > 0 AS converted,
  s.orders AS orders,
  s.revenue_base AS revenue_base,
  s.country AS country,
  s.device AS device
FROM (
  SELECT
    site, session_id, max(anonymous_id) AS anonymous_id, max(customer_id) AS customer_id,
    min(started_at) AS started_at, max(ended_at) AS ended_at, sum(page_views) AS page_views, sum(events) AS events,
    uniqExactMerge(pages) AS pages, argMinMerge(entry_path) AS entry_path, argMaxMerge(exit_path) AS exit_path,
    sum(orders) AS orders, sum(revenue_base) AS revenue_base, argMinMerge(country) AS country, argMinMerge(device) AS device
  FROM sessions_agg
  GROUP BY site, session_id
) AS s
LEFT JOIN identity_links AS i ON s.site = i.site AND s.anonymous_id = i.anonymous_id AND s.anonymous_id != '';

-- customer_features (0041) with country, consent and first_seen from the merged home profile.
CREATE OR REPLACE VIEW customer_features AS
WITH
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok') AS rfm_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'clv' AND status = 'ok') AS clv_run,
  (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'churn' AND status = 'ok') AS churn_run
SELECT
  ids.customer_id AS customer_id,
  if(p.customer_id != '' AND p.country != '', p.country, o.country) AS country,
  if(p.customer_id != '', p.consent, toUInt8(1)) AS consent,
  if(p.customer_id != '', p.first_seen, if(o.customer_id != '', o.first_order, NULL)) AS first_seen,
  if(r.customer_id != '', r.recency_days, NULL) AS recency_days,
  if(r.customer_id != '', r.frequency, NULL) AS frequency,
  if(r.customer_id != '', r.monetary, NULL) AS monetary,
  if(r.customer_id != '', r.r, NULL) AS r,
  if(r.customer_id != '', r.f, NULL) AS f,
  if(r.customer_id != '', r.m, NULL) AS m,
  if(r.customer_id != '', toString(r.segment), NULL) AS segment,
  if(v.customer_id != '', v.clv, NULL) AS clv,
  if(v.customer_id != '', v.p_alive, NULL) AS p_alive,
  if(v.customer_id != '', v.expected_purchases, NULL) AS expected_purchases,
  if(h.customer_id != '', h.churn_risk, NULL) AS churn_risk
FROM (
  SELECT customer_id FROM customers
  UNION DISTINCT SELECT customer_id FROM rfm_scores WHERE run_id = rfm_run
  UNION DISTINCT SELECT customer_id FROM clv_scores WHERE run_id = clv_run
  UNION DISTINCT SELECT customer_id FROM churn_scores WHERE run_id = churn_run
) AS ids
LEFT JOIN (SELECT customer_id, country, consent, first_seen FROM customer_home_profiles) AS p ON p.customer_id = ids.customer_id
LEFT JOIN (
  SELECT customer_id, anyLast(country) AS country, min(ts) AS first_order FROM order_items WHERE customer_id != '' GROUP BY customer_id
) AS o ON o.customer_id = ids.customer_id
LEFT JOIN (SELECT * FROM rfm_scores WHERE run_id = rfm_run) AS r ON r.customer_id = ids.customer_id
LEFT JOIN (SELECT * FROM clv_scores WHERE run_id = clv_run) AS v ON v.customer_id = ids.customer_id
LEFT JOIN (SELECT * FROM churn_scores WHERE run_id = churn_run) AS h ON h.customer_id = ids.customer_id
WHERE ids.customer_id != '';
