-- events_resolved without the events of opted-out customers (anonymous events stay: no one to ask).
CREATE OR REPLACE VIEW events_consented AS
SELECT * FROM events_resolved
WHERE resolved_customer_id = '' OR resolved_customer_id NOT IN (SELECT customer_id FROM customers_opted_out);
