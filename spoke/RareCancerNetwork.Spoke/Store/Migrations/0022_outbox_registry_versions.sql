-- A registry version's outbox entry held a third copy of the version's bytes (beside the record and its history row),
-- written when queued and written again whole when marked delivered: about two of the five kilobytes the spoke wrote for
-- each record it synchronised. New entries name their history row instead and carry no payload of their own; the bytes
-- sent are the history row's, which a withdrawal of consent deletes with the record. Entries queued before this keep
-- their payload.
ALTER TABLE outbox ADD COLUMN registry_version_entry INTEGER;
