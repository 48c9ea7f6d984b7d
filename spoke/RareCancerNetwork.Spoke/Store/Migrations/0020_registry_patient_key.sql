-- An import recognises a record it brought in before by the patient and the primary cancer. The key was a hash alone,
-- so every new record landed on a random page of its index (a whole page written, and checkpointed, per record); led by
-- the local patient id, new records land where their neighbours in the hospital's own numbering are.
DROP INDEX ix_registry_records_natural_key;
CREATE INDEX ix_registry_records_patient_cancer ON registry_records (local_patient_id, natural_key);
