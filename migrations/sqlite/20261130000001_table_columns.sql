-- The holdings table's columns each account chose (names of sort columns and "notes", joined
-- by commas, in any order); NULL shows the default set.
ALTER TABLE users ADD COLUMN table_columns TEXT;
