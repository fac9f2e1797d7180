-- Consent: an identify with traits.consent = false marks a customer as opted out (latest stated consent of
-- the home profile). Model jobs leave them out by reading events_consented; webhook pushes leave them out too.
CREATE OR REPLACE VIEW customers_opted_out AS
SELECT customer_id FROM customer_home_profiles WHERE consent = 0;
