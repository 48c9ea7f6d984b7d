-- The national registry: each record's current version (protobuf RegistryRecord, returned byte for
-- byte) with the columns statistics and listings query beside it, and every version ever accepted.
CREATE TABLE registry_records (
    record_id         TEXT PRIMARY KEY,
    spoke_node_id     TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    facility_code     TEXT NOT NULL REFERENCES facilities (facility_code),
    patient_pseudonym TEXT NOT NULL,
    version           INTEGER NOT NULL CHECK (version > 0),
    enrolment_date    TEXT NOT NULL,
    category          INTEGER NOT NULL,
    prefecture        TEXT NOT NULL REFERENCES prefectures (name_ja),
    secondary_use     INTEGER NOT NULL,
    record            BLOB NOT NULL,
    updated_at        TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_registry_records_facility ON registry_records (facility_code, enrolment_date);
CREATE INDEX ix_registry_records_pseudonym ON registry_records (patient_pseudonym);

CREATE TABLE registry_record_versions (
    record_id      TEXT NOT NULL REFERENCES registry_records (record_id),
    version        INTEGER NOT NULL CHECK (version > 0),
    content_sha256 TEXT NOT NULL,
    record         BLOB NOT NULL,
    received_at    TEXT NOT NULL,
    PRIMARY KEY (record_id, version)
) WITHOUT ROWID;

-- A withdrawal of consent leaves only this tombstone: pseudonym, withdrawal date, who recorded it.
CREATE TABLE registry_withdrawals (
    record_id         TEXT PRIMARY KEY,
    patient_pseudonym TEXT NOT NULL,
    withdrawn_on      TEXT NOT NULL,
    recorded_by       TEXT NOT NULL,
    recorded_at       TEXT NOT NULL
) WITHOUT ROWID;

-- Versions are never changed, and removed only with a withdrawal of consent.
CREATE TRIGGER registry_versions_append_only_update BEFORE UPDATE ON registry_record_versions
BEGIN SELECT RAISE(ABORT, 'registry record versions are append-only'); END;
CREATE TRIGGER registry_versions_kept_unless_withdrawn BEFORE DELETE ON registry_record_versions
WHEN NOT EXISTS (SELECT 1 FROM registry_withdrawals w WHERE w.record_id = OLD.record_id)
BEGIN SELECT RAISE(ABORT, 'registry record versions are removed only with a withdrawal of consent'); END;
