-- A record's latest bytes were kept in its row here as well as in its history (registry_record_versions), and the row was
-- written again whole whenever its synchronisation state changed. The bytes are now read from the record's latest history
-- entry: each version's bytes are kept once at the spoke (its outbox entry names the same row, 0022).
ALTER TABLE registry_records DROP COLUMN record;
