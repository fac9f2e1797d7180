-- Every link row of the anonymous ids ever linked to a customer; api/customer-360.ts keeps the ids whose
-- latest link (by updated_at) is still this customer and not deleted.
SELECT anonymous_id, customer_id, source, first_seen, updated_at, deleted
FROM identities
WHERE anonymous_id IN (SELECT anonymous_id FROM identities WHERE customer_id = {id:String})
