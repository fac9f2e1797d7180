-- One customer's events per month and type (anonymous browsing before sign-up included).
SELECT formatDateTime(toStartOfMonth(ts), '%Y-%m') AS month, type, count() AS events
FROM events_resolved
WHERE resolved_customer_id = {customer:String}
GROUP BY month, type
ORDER BY month, type
