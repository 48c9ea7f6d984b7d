-- Hub store, version 1. Instants are UTC ISO 8601 text; ids are lowercase UUIDv7 text (time-ordered).

CREATE TABLE prefectures (
    name_ja   TEXT PRIMARY KEY,
    region    TEXT NOT NULL,
    jis_code  TEXT NOT NULL UNIQUE
) WITHOUT ROWID;

CREATE TABLE facilities (
    facility_code TEXT PRIMARY KEY,
    name_ja       TEXT NOT NULL,
    designation   INTEGER NOT NULL,
    prefecture    TEXT NOT NULL REFERENCES prefectures (name_ja),
    region        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE spoke_nodes (
    node_id        TEXT PRIMARY KEY,
    facility_code  TEXT NOT NULL REFERENCES facilities (facility_code),
    registered_at  TEXT NOT NULL,
    revoked_at     TEXT
) WITHOUT ROWID;

CREATE TABLE experts (
    expert_id     TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    capacity      INTEGER NOT NULL CHECK (capacity > 0),
    active        INTEGER NOT NULL DEFAULT 1,
    registered_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE expert_specialties (
    expert_id    TEXT NOT NULL REFERENCES experts (expert_id),
    organ_system INTEGER NOT NULL,
    PRIMARY KEY (expert_id, organ_system)
) WITHOUT ROWID;

-- Who each OAuth client is in network terms; OpenIddict's own tables hold the credentials.
CREATE TABLE api_clients (
    client_id     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('spoke_node', 'spoke_user', 'expert')),
    display_name  TEXT NOT NULL,
    facility_code TEXT REFERENCES facilities (facility_code),
    node_id       TEXT REFERENCES spoke_nodes (node_id),
    expert_id     TEXT REFERENCES experts (expert_id),
    registered_at TEXT NOT NULL,
    revoked_at    TEXT
) WITHOUT ROWID;

-- Clinical content lives in `details` (protobuf ConsultationDetails, returned byte for byte);
-- the columns beside it are what routing and listing query.
CREATE TABLE consultations (
    consultation_id    TEXT PRIMARY KEY,
    spoke_node_id      TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    facility_code      TEXT NOT NULL REFERENCES facilities (facility_code),
    patient_pseudonym  TEXT NOT NULL,
    submitted_by       TEXT NOT NULL,
    submitted_at       TEXT NOT NULL,
    received_at        TEXT NOT NULL,
    organ_system       INTEGER NOT NULL,
    urgency            INTEGER NOT NULL,
    details            BLOB NOT NULL,
    delivery_sha256    TEXT NOT NULL,
    status             INTEGER NOT NULL,
    assigned_expert_id TEXT REFERENCES experts (expert_id),
    assigned_at        TEXT,
    updated_at         TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX ix_consultations_expert ON consultations (assigned_expert_id, status);
CREATE INDEX ix_consultations_waiting ON consultations (status, urgency, received_at);
CREATE INDEX ix_consultations_pseudonym ON consultations (patient_pseudonym);

-- Reports are append-only: an amendment is a new version.
CREATE TABLE consultation_reports (
    consultation_id     TEXT NOT NULL REFERENCES consultations (consultation_id),
    version             INTEGER NOT NULL CHECK (version > 0),
    concordance         INTEGER NOT NULL,
    signed_by_expert_id TEXT NOT NULL REFERENCES experts (expert_id),
    signed_at           TEXT NOT NULL,
    report              BLOB NOT NULL,
    PRIMARY KEY (consultation_id, version)
) WITHOUT ROWID;

CREATE TRIGGER consultation_reports_append_only_update BEFORE UPDATE ON consultation_reports
BEGIN SELECT RAISE(ABORT, 'consultation reports are append-only'); END;
CREATE TRIGGER consultation_reports_append_only_delete BEFORE DELETE ON consultation_reports
BEGIN SELECT RAISE(ABORT, 'consultation reports are append-only'); END;

-- The per-spoke event feed. AUTOINCREMENT: sequences never reused, so a saved cursor stays valid.
CREATE TABLE spoke_events (
    sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
    spoke_node_id   TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    consultation_id TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    payload         BLOB NOT NULL
);

CREATE INDEX ix_spoke_events_node ON spoke_events (spoke_node_id, sequence);
