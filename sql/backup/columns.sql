-- The columns a table's rows are made of, in order: MATERIALIZED, ALIAS and EPHEMERAL columns are
-- computed from these, on insert or on read, so they are neither dumped nor inserted.
SELECT name, type
FROM system.columns
WHERE database = currentDatabase() AND table = {table:String} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL')
ORDER BY position
