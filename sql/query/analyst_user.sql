-- Server mode (CLICKHOUSE_URL), run once by an operator with access management rights, then set
-- CLICKHOUSE_ANALYST_USER=cvm_analyst and CLICKHOUSE_ANALYST_PASSWORD. POST /v1/query then runs as this
-- user, so the server itself refuses what the analyst may not read, on top of readonly=1 and the limits
-- cvm sends with every request:
--   * grants name only the analyst tables and views (api/query/sql-guard.ts QUERYABLE_TABLES): no
--     system tables beyond what every user sees, no customers/identities/keys/audit tables;
--   * no FILE, URL, REMOTE, S3, SOURCES or dictGet grants: file(), url(), remote(), s3(), executable(),
--     dictionaries are refused by the server whatever the SQL says;
--   * the profile is readonly=2 so cvm can tighten it per request (readonly=1 and the limits travel as
--     HTTP settings), and its constraints cap the limits so no request can raise them.
-- Replace the password and the database (default here) before running. On a server, also set
-- select_from_system_db_requires_grant=1 (server config) so system tables need a grant too.
CREATE SETTINGS PROFILE IF NOT EXISTS cvm_analyst SETTINGS
  readonly = 2,
  max_execution_time = 30 MAX 30,
  max_result_rows = 100000 MAX 100000,
  max_memory_usage = 2147483648 MAX 2147483648,
  allow_ddl = 0 CONST,
  allow_introspection_functions = 0 CONST;

CREATE USER IF NOT EXISTS cvm_analyst IDENTIFIED WITH sha256_password BY 'change-me' SETTINGS PROFILE 'cvm_analyst';

GRANT SELECT ON default.events TO cvm_analyst;
GRANT SELECT ON default.events_resolved TO cvm_analyst;
GRANT SELECT ON default.events_consented TO cvm_analyst;
GRANT SELECT ON default.order_items TO cvm_analyst;
GRANT SELECT ON default.products TO cvm_analyst;
GRANT SELECT ON default.fx_rates TO cvm_analyst;
GRANT SELECT ON default.model_runs TO cvm_analyst;
GRANT SELECT ON default.rfm_scores TO cvm_analyst;
GRANT SELECT ON default.clv_scores TO cvm_analyst;
GRANT SELECT ON default.churn_scores TO cvm_analyst;
GRANT SELECT ON default.customer_features TO cvm_analyst;
GRANT SELECT ON default.segment_sizes TO cvm_analyst;
GRANT SELECT ON default.sessions TO cvm_analyst;
GRANT SELECT ON default.recs_personal TO cvm_analyst;
GRANT SELECT ON default.recs_similar TO cvm_analyst;
GRANT SELECT ON default.recs_bought_together TO cvm_analyst;
GRANT SELECT ON default.recs_popular TO cvm_analyst;
GRANT SELECT ON default.recs_catalog TO cvm_analyst;
