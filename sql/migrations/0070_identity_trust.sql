-- Identity verification and merged profiles (issue 13).
-- customers becomes one row per identify (keyed by event_id, so a re-delivered identify folds into its
-- row) instead of one row per customer: the profile is merged at read (customer_profiles, 0071), trait by
-- trait, so an identify that leaves a trait out never erases it and there is no read-modify-write to race.
-- Rows that existed before keep event_id '' (one per customer, as they were).
-- unverified = 1: a browser identify without the shop's signature. Such rows count only for a customer
-- the shop never vouched for; the first verified identify outranks all of them (0071).
-- NOTE: key columns added here have no DEFAULT expression (ClickHouse refuses one in a new sort key
-- column); their type default ('' / 0) is what old rows get, hence "unverified" rather than "verified".
ALTER TABLE customers ADD COLUMN IF NOT EXISTS event_id String, ADD COLUMN IF NOT EXISTS unverified UInt8, MODIFY ORDER BY (customer_id, event_id);

-- Links keep a verified and an unverified row per anonymous id apart, so a forged link can never replace
-- a verified one when parts merge.
ALTER TABLE identities ADD COLUMN IF NOT EXISTS unverified UInt8, MODIFY ORDER BY (anonymous_id, unverified);
