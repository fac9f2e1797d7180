-- Rows in a table dump (the structure is given: an empty Native file has none to infer).
SELECT count() AS n FROM file({file:String}, 'Native', {structure:String})
