-- The second statement reads a table that does not exist: the task stops there.
CREATE OR REPLACE TEMPORARY VIEW ok AS SELECT 1 AS x;
SELECT * FROM no_such_table_anywhere;
SELECT 'never reached';
