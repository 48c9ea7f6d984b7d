-- The national registry: each record's current version (protobuf RegistryRecord, returned byte for
-- byte) with the columns statistics and listings query beside it, and every version ever accepted.
CREATE TABLE registry_records (
    record_id         text PRIMARY KEY,
    spoke_node_id     text NOT NULL REFERENCES spoke_nodes (node_id),
    facility_code     text NOT NULL REFERENCES facilities (facility_code),
    patient_pseudonym text NOT NULL,
    version           bigint NOT NULL CHECK (version > 0),
    enrolment_date    text NOT NULL,
    category          integer NOT NULL,
    prefecture        text NOT NULL REFERENCES prefectures (name_ja),
    secondary_use     integer NOT NULL,
    record            bytea NOT NULL,
    updated_at        text NOT NULL
);
CREATE INDEX ix_registry_records_facility ON registry_records (facility_code, enrolment_date);
CREATE INDEX ix_registry_records_pseudonym ON registry_records (patient_pseudonym);

CREATE TABLE registry_record_versions (
    record_id      text NOT NULL REFERENCES registry_records (record_id),
    version        bigint NOT NULL CHECK (version > 0),
    content_sha256 text NOT NULL,
    record         bytea NOT NULL,
    received_at    text NOT NULL,
    PRIMARY KEY (record_id, version)
);

-- A withdrawal of consent leaves only this tombstone: pseudonym, withdrawal date, who recorded it.
CREATE TABLE registry_withdrawals (
    record_id         text PRIMARY KEY,
    patient_pseudonym text NOT NULL,
    withdrawn_on      text NOT NULL,
    recorded_by       text NOT NULL,
    recorded_at       text NOT NULL
);

-- Versions are never changed, and removed only with a withdrawal of consent.
CREATE TRIGGER registry_versions_append_only BEFORE UPDATE ON registry_record_versions
FOR EACH ROW EXECUTE FUNCTION refuse_change('registry record versions are append-only');
CREATE FUNCTION refuse_unless_withdrawn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM registry_withdrawals w WHERE w.record_id = OLD.record_id) THEN
        RAISE EXCEPTION 'registry record versions are removed only with a withdrawal of consent' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER registry_versions_kept_unless_withdrawn BEFORE DELETE ON registry_record_versions
FOR EACH ROW EXECUTE FUNCTION refuse_unless_withdrawn();
CREATE TRIGGER registry_versions_no_truncate BEFORE TRUNCATE ON registry_record_versions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('registry record versions are append-only');
