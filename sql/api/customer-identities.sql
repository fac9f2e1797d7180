-- Every link row of the anonymous ids ever linked to a customer; api/customer-360.ts keeps the ids whose
-- latest link (by updated_at) is still this customer and not deleted. Trust as in identity_links (0071):
-- an anonymous id's unverified rows are left out when it has a verified one, and all unverified rows
-- when the shop vouched for the customer.
WITH
  (SELECT count() > 0 FROM customers WHERE customer_id = {id:String} AND unverified = 0) AS sealed,
  (SELECT groupUniqArray(anonymous_id) FROM identities WHERE customer_id = {id:String}) AS candidates,
  (SELECT groupUniqArray(anonymous_id) FROM identities WHERE unverified = 0 AND has(candidates, anonymous_id)) AS vouched
SELECT anonymous_id, customer_id, source, first_seen, updated_at, deleted
FROM identities
WHERE has(candidates, anonymous_id)
  AND (unverified = 0 OR (NOT sealed AND NOT has(vouched, anonymous_id)))
