-- Current anonymous id -> customer link per site, before merges (11_identity_resolution.sql applies those).
-- Trust: a row is verified when the shop vouched for it (its back end, or a browser identify carrying the
-- shop's signature of the customer id). For a customer that has any verified profile row ("sealed"), only
-- verified rows and links count; unverified ones count only while the shop never vouched for the customer,
-- so a shop that does not sign yet keeps working and a forged identify cannot touch a signed-up customer.
-- A verified link outranks an unverified one of the same anonymous id; an unverified link to a sealed
-- customer is ignored. Events of one site are never resolved through another site's link.
-- source is the current link's; first_seen the earliest row of the link's trust level. A link needs an
-- anonymous id: rows without one are left out.
CREATE OR REPLACE VIEW identity_links AS
SELECT site, anonymous_id, linked_customer_id, source, first_seen
FROM (
  SELECT
    site,
    anonymous_id,
    argMax(customer_id, (1 - unverified, updated_at)) AS linked_customer_id,
    argMax(unverified, (1 - unverified, updated_at)) AS link_unverified,
    argMax(deleted, (1 - unverified, updated_at)) AS link_deleted,
    argMax(source, (1 - unverified, updated_at)) AS source,
    min((unverified, first_seen)).2 AS first_seen
  FROM identities
  WHERE anonymous_id != ''
  GROUP BY site, anonymous_id
)
WHERE link_deleted = 0
  AND (link_unverified = 0 OR linked_customer_id NOT IN (SELECT customer_id FROM customers WHERE unverified = 0));
