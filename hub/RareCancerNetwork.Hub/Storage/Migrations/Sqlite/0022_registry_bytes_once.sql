-- A record's current bytes were kept twice: in its row here and in its current version's row. They are now read from the
-- version (registry_record_versions, by record and version), which halves what the registry stores and writes for each
-- record delivered. SQLite rewrites the table once to drop the column.
ALTER TABLE registry_records DROP COLUMN record;
