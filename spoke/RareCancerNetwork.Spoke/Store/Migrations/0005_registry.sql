-- The facility's registry records: the latest version made here, where it stands with the hub and,
-- in a conflict, the hub's version beside it; and every version the spoke has held, in arrival order.
CREATE TABLE registry_records (
    record_id        TEXT PRIMARY KEY,
    local_patient_id TEXT NOT NULL,
    version          INTEGER NOT NULL CHECK (version > 0),
    record           BLOB NOT NULL,
    content_sha256   TEXT NOT NULL,
    -- The patient and the primary cancer (local patient id, topography, morphology, diagnosis date): an
    -- import recognises a record it has brought in before by this.
    natural_key      TEXT NOT NULL,
    sync_state       INTEGER NOT NULL,
    sync_error       TEXT,
    hub_version      BLOB,
    updated_at       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_registry_records_recent ON registry_records (updated_at, record_id);
CREATE INDEX ix_registry_records_state ON registry_records (sync_state, updated_at, record_id);
CREATE INDEX ix_registry_records_natural_key ON registry_records (natural_key);

CREATE TABLE registry_record_versions (
    record_id TEXT NOT NULL REFERENCES registry_records (record_id),
    entry     INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    origin    TEXT NOT NULL CHECK (origin IN ('spoke', 'hub')),
    record    BLOB NOT NULL,
    PRIMARY KEY (record_id, entry)
) WITHOUT ROWID;

-- A withdrawal of consent deletes the record and its versions; the facility keeps this tombstone, so it
-- knows the patient withdrew (and never enrols the same record again).
CREATE TABLE registry_withdrawals (
    record_id         TEXT PRIMARY KEY,
    local_patient_id  TEXT NOT NULL,
    patient_pseudonym TEXT NOT NULL,
    withdrawn_on      TEXT NOT NULL,
    recorded_by       TEXT NOT NULL,
    recorded_at       TEXT NOT NULL
) WITHOUT ROWID;
