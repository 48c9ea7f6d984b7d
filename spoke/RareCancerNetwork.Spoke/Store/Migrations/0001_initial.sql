-- Spoke cache, version 1. This node's own consultations (with the local patient id, which
-- never leaves the spoke), the reports that came back, the outbox and the feed cursor.

CREATE TABLE consultations (
    consultation_id   TEXT PRIMARY KEY,
    local_patient_id  TEXT NOT NULL,
    patient_pseudonym TEXT NOT NULL,
    details           BLOB NOT NULL,
    request_sha256    TEXT NOT NULL,
    submitted_by      TEXT NOT NULL,
    submitted_at      TEXT NOT NULL,
    status            INTEGER NOT NULL,
    delivery_state    INTEGER NOT NULL,
    delivery_error    TEXT,
    updated_at        TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX ix_consultations_submitted ON consultations (submitted_at DESC, consultation_id DESC);
CREATE INDEX ix_consultations_patient ON consultations (local_patient_id);

CREATE TABLE consultation_reports (
    consultation_id TEXT NOT NULL REFERENCES consultations (consultation_id),
    version         INTEGER NOT NULL,
    report          BLOB NOT NULL,
    received_at     TEXT NOT NULL,
    PRIMARY KEY (consultation_id, version)
) WITHOUT ROWID;

-- Store-and-forward: written in the same transaction as the record it carries.
CREATE TABLE outbox (
    outbox_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,
    aggregate_id    TEXT NOT NULL,
    payload         BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    TEXT,
    failed_at       TEXT
);

CREATE INDEX ix_outbox_pending ON outbox (outbox_id) WHERE delivered_at IS NULL AND failed_at IS NULL;

-- The hub feed cursor, saved in the same transaction as the changes it applies.
CREATE TABLE feed_cursor (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    after_sequence INTEGER NOT NULL,
    updated_at     TEXT
);

INSERT INTO feed_cursor (id, after_sequence) VALUES (1, 0);
