-- Events with the customer each one counts for (identity_resolution): an anonymous visitor's events count
-- for the customer they later identified as, a merged customer's for the one it was merged into. Bots are
-- kept in events but left out here, so every model reads this view.
CREATE OR REPLACE VIEW events_resolved AS
SELECT
  e.*,
  if(r.customer_id != '', r.customer_id, e.customer_id) AS resolved_customer_id
FROM events AS e FINAL
LEFT JOIN identity_resolution AS r
  ON r.site = if(e.customer_id != '', '', e.site) AND r.id = if(e.customer_id != '', e.customer_id, e.anonymous_id)
WHERE e.is_bot = 0;
