-- Customers whose home profile consents (see customers_opted_out).
CREATE OR REPLACE VIEW customers_consented AS
SELECT customer_id FROM customer_home_profiles WHERE consent = 1;
