-- Referrals between facilities, or to a trial arm at one of its sites. The referral as the sending spoke
-- created it (protobuf Referral, returned byte for byte) with the columns routing, listings and statistics
-- read; each state change is a row of its own, timed and attributed, applied once per transition id.
CREATE TABLE referrals (
    referral_id             TEXT PRIMARY KEY,
    sending_node_id         TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    sending_facility_code   TEXT NOT NULL REFERENCES facilities (facility_code),
    receiving_node_id       TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    receiving_facility_code TEXT NOT NULL REFERENCES facilities (facility_code),
    target_kind             TEXT NOT NULL CHECK (target_kind IN ('facility', 'trial_arm')),
    trial_id                TEXT,
    arm_id                  TEXT,
    registry_record_id      TEXT,
    consultation_id         TEXT,
    urgency                 INTEGER NOT NULL,
    state                   INTEGER NOT NULL,
    outcome                 INTEGER NOT NULL DEFAULT 0,
    request_sha256          TEXT NOT NULL,
    referral                BLOB NOT NULL,
    created_at              TEXT NOT NULL,
    received_at             TEXT NOT NULL,
    updated_at              TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_referrals_sending ON referrals (sending_node_id, updated_at);
CREATE INDEX ix_referrals_receiving ON referrals (receiving_node_id, updated_at);
CREATE INDEX ix_referrals_trial ON referrals (trial_id, arm_id);

CREATE TABLE referral_transitions (
    transition_id         TEXT PRIMARY KEY,
    referral_id           TEXT NOT NULL REFERENCES referrals (referral_id),
    sequence              INTEGER NOT NULL,
    from_state            INTEGER NOT NULL,
    to_state              INTEGER NOT NULL,
    occurred_at           TEXT NOT NULL,
    applied_at            TEXT NOT NULL,
    made_by               TEXT NOT NULL,
    made_by_facility_code TEXT NOT NULL,
    outcome               INTEGER NOT NULL DEFAULT 0,
    transition            BLOB NOT NULL,
    UNIQUE (referral_id, sequence)
) WITHOUT ROWID;
