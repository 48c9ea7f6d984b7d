-- National statistics. What the registry's figures count is kept beside each record, written in the same
-- transaction as its version and only while its patient consents to secondary use, so that consent is a property of
-- the tables the statistics read and the figures are plain GROUP BYs over narrow rows (the record itself is a blob).
-- Consultations and referrals are counted from their own tables.
CREATE TABLE registry_record_facts (
    record_id         text PRIMARY KEY REFERENCES registry_records (record_id),
    facility_code     text NOT NULL,
    enrolment_month   text NOT NULL,
    category          integer NOT NULL,
    prefecture        text NOT NULL,
    panel_tested      integer NOT NULL,
    actionable        integer NOT NULL,
    recommended       integer NOT NULL,
    reached           integer NOT NULL,
    progression_date  text NOT NULL,
    death_date        text NOT NULL,
    last_contact_date text NOT NULL
);

CREATE TABLE registry_panel_test_facts (
    record_id                text NOT NULL REFERENCES registry_records (record_id),
    ordinal                  integer NOT NULL,
    ordered_month            text NOT NULL,
    performing_facility_code text NOT NULL,
    actionable               integer NOT NULL,
    recommended              integer NOT NULL,
    genomic_consent          integer NOT NULL,
    PRIMARY KEY (record_id, ordinal)
);

-- One row per patient and gene × alteration type, however often it was found.
CREATE TABLE registry_biomarker_facts (
    record_id       text NOT NULL REFERENCES registry_records (record_id),
    gene            text NOT NULL,
    alteration_type integer NOT NULL,
    PRIMARY KEY (record_id, gene, alteration_type)
);

CREATE TABLE registry_treatment_facts (
    record_id     text NOT NULL REFERENCES registry_records (record_id),
    ordinal       integer NOT NULL,
    regimen_key   text NOT NULL,
    trial_id      text NOT NULL,
    arm_id        text NOT NULL,
    start_date    text NOT NULL,
    best_response integer NOT NULL,
    PRIMARY KEY (record_id, ordinal)
);
CREATE INDEX ix_registry_treatment_facts_trial ON registry_treatment_facts (trial_id, arm_id);
CREATE INDEX ix_registry_treatment_facts_regimen ON registry_treatment_facts (regimen_key);

-- Projections built from the stored records once, after the migration that created them.
CREATE TABLE statistics_projections (
    name     text PRIMARY KEY,
    built_at text NOT NULL
);

-- The exact-statistics permission: granted to a statistician by an administrator, named here.
ALTER TABLE users ADD COLUMN exact_statistics_granted_by text;
ALTER TABLE users ADD COLUMN exact_statistics_granted_at text;

-- Consultations and referrals of a patient who withdrew registry consent are left out of the figures.
CREATE INDEX ix_registry_withdrawals_pseudonym ON registry_withdrawals (patient_pseudonym);

-- Referrals name their patient (pseudonym) for the same rule and to count patients, not referrals, in the trial funnel;
-- rows stored before this are filled from the referral itself at start-up.
ALTER TABLE referrals ADD COLUMN patient_pseudonym text NOT NULL DEFAULT '';
CREATE INDEX ix_referrals_pseudonym ON referrals (patient_pseudonym);

-- What each spoke last reported of its synchronisation (counts only), for the hub's status and the dashboard.
CREATE TABLE spoke_sync_status (
    node_id           text PRIMARY KEY REFERENCES spoke_nodes (node_id),
    reported_at       text NOT NULL,
    outbox_pending    bigint NOT NULL,
    oldest_pending_at text,
    refused           bigint NOT NULL,
    parked            bigint NOT NULL,
    feed_cursor       bigint NOT NULL,
    -- The versions the spoke named on the call (contract 0: from before versions were exchanged).
    contract_version  integer NOT NULL,
    schema_version    integer NOT NULL,
    -- The length of the spoke's own audit trail, against what the hub holds of it.
    audit_sequence    bigint NOT NULL
);
