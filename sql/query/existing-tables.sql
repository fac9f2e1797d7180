-- Real tables of the current database: a CTE may not take the name of one (it would shadow it).
SELECT name FROM system.tables WHERE database = currentDatabase()
