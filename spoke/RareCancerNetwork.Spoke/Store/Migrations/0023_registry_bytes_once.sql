-- A record's latest bytes were kept in its row here as well as in its history (registry_record_versions), and the row was
-- written again whole whenever its synchronisation state changed. The row now names its latest history entry and the
-- bytes are read from there: each version's bytes are kept once at the spoke (its outbox entry names the same row, 0022).
ALTER TABLE registry_records ADD COLUMN current_entry INTEGER NOT NULL DEFAULT 0;
UPDATE registry_records SET current_entry = (SELECT MAX(v.entry) FROM registry_record_versions v WHERE v.record_id = registry_records.record_id);
ALTER TABLE registry_records DROP COLUMN record;
