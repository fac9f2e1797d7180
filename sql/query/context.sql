-- The analyst guard's view of the database: the current database and every table function the engine
-- knows (lower-cased), so a table function is recognised whatever its name.
SELECT currentDatabase() AS db, (SELECT groupArray(lower(name)) FROM system.table_functions) AS fns
