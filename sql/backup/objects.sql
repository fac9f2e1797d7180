-- What a backup covers: every table and materialized view of cvm's database. Plain views are code
-- (sql/views), re-created by the migrations on restore, so they are left out.
SELECT name, engine
FROM system.tables
WHERE database = currentDatabase() AND NOT is_temporary AND engine != 'View'
ORDER BY name
