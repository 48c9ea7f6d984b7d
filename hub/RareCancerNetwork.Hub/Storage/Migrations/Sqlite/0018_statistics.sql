-- National statistics. What the registry's figures count is kept beside each record, written in the same
-- transaction as its version and only while its patient consents to secondary use, so that consent is a property of
-- the tables the statistics read and the figures are plain GROUP BYs over narrow rows (the record itself is a blob).
-- Consultations and referrals are counted from their own tables.
CREATE TABLE registry_record_facts (
    record_id         TEXT PRIMARY KEY REFERENCES registry_records (record_id),
    facility_code     TEXT NOT NULL,
    enrolment_month   TEXT NOT NULL,
    category          INTEGER NOT NULL,
    prefecture        TEXT NOT NULL,
    panel_tested      INTEGER NOT NULL,
    actionable        INTEGER NOT NULL,
    recommended       INTEGER NOT NULL,
    reached           INTEGER NOT NULL,
    progression_date  TEXT NOT NULL,
    death_date        TEXT NOT NULL,
    last_contact_date TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE registry_panel_test_facts (
    record_id                TEXT NOT NULL REFERENCES registry_records (record_id),
    ordinal                  INTEGER NOT NULL,
    ordered_month            TEXT NOT NULL,
    performing_facility_code TEXT NOT NULL,
    actionable               INTEGER NOT NULL,
    recommended              INTEGER NOT NULL,
    genomic_consent          INTEGER NOT NULL,
    PRIMARY KEY (record_id, ordinal)
) WITHOUT ROWID;

-- One row per patient and gene × alteration type, however often it was found.
CREATE TABLE registry_biomarker_facts (
    record_id       TEXT NOT NULL REFERENCES registry_records (record_id),
    gene            TEXT NOT NULL,
    alteration_type INTEGER NOT NULL,
    PRIMARY KEY (record_id, gene, alteration_type)
) WITHOUT ROWID;

CREATE TABLE registry_treatment_facts (
    record_id     TEXT NOT NULL REFERENCES registry_records (record_id),
    ordinal       INTEGER NOT NULL,
    regimen_key   TEXT NOT NULL,
    trial_id      TEXT NOT NULL,
    arm_id        TEXT NOT NULL,
    start_date    TEXT NOT NULL,
    best_response INTEGER NOT NULL,
    PRIMARY KEY (record_id, ordinal)
) WITHOUT ROWID;
CREATE INDEX ix_registry_treatment_facts_trial ON registry_treatment_facts (trial_id, arm_id);
CREATE INDEX ix_registry_treatment_facts_regimen ON registry_treatment_facts (regimen_key);

-- Projections built from the stored records once, after the migration that created them.
CREATE TABLE statistics_projections (
    name     TEXT PRIMARY KEY,
    built_at TEXT NOT NULL
) WITHOUT ROWID;

-- The exact-statistics permission: granted to a statistician by an administrator, named here.
ALTER TABLE users ADD COLUMN exact_statistics_granted_by TEXT;
ALTER TABLE users ADD COLUMN exact_statistics_granted_at TEXT;

-- Consultations and referrals of a patient who withdrew registry consent are left out of the figures.
CREATE INDEX ix_registry_withdrawals_pseudonym ON registry_withdrawals (patient_pseudonym);

-- Referrals name their patient (pseudonym) for the same rule and to count patients, not referrals, in the trial funnel;
-- rows stored before this are filled from the referral itself at start-up.
ALTER TABLE referrals ADD COLUMN patient_pseudonym TEXT NOT NULL DEFAULT '';
CREATE INDEX ix_referrals_pseudonym ON referrals (patient_pseudonym);

-- What each spoke last reported of its synchronisation (counts only), for the hub's status and the dashboard.
CREATE TABLE spoke_sync_status (
    node_id           TEXT PRIMARY KEY REFERENCES spoke_nodes (node_id),
    reported_at       TEXT NOT NULL,
    outbox_pending    INTEGER NOT NULL,
    oldest_pending_at TEXT,
    refused           INTEGER NOT NULL,
    parked            INTEGER NOT NULL,
    feed_cursor       INTEGER NOT NULL,
    -- The versions the spoke named on the call (contract 0: from before versions were exchanged).
    contract_version  INTEGER NOT NULL,
    schema_version    INTEGER NOT NULL,
    -- The length of the spoke's own audit trail, against what the hub holds of it.
    audit_sequence    INTEGER NOT NULL
) WITHOUT ROWID;
