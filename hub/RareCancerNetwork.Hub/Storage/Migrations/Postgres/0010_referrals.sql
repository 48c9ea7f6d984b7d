-- Referrals between facilities, or to a trial arm at one of its sites. The referral as the sending spoke
-- created it (protobuf Referral, returned byte for byte) with the columns routing, listings and statistics
-- read; each state change is a row of its own, timed and attributed, applied once per transition id.
CREATE TABLE referrals (
    referral_id             text PRIMARY KEY,
    sending_node_id         text NOT NULL REFERENCES spoke_nodes (node_id),
    sending_facility_code   text NOT NULL REFERENCES facilities (facility_code),
    receiving_node_id       text NOT NULL REFERENCES spoke_nodes (node_id),
    receiving_facility_code text NOT NULL REFERENCES facilities (facility_code),
    target_kind             text NOT NULL CHECK (target_kind IN ('facility', 'trial_arm')),
    trial_id                text,
    arm_id                  text,
    registry_record_id      text,
    consultation_id         text,
    urgency                 integer NOT NULL,
    state                   integer NOT NULL,
    outcome                 integer NOT NULL DEFAULT 0,
    request_sha256          text NOT NULL,
    referral                bytea NOT NULL,
    created_at              text NOT NULL,
    received_at             text NOT NULL,
    updated_at              text NOT NULL
);
CREATE INDEX ix_referrals_sending ON referrals (sending_node_id, updated_at);
CREATE INDEX ix_referrals_receiving ON referrals (receiving_node_id, updated_at);
CREATE INDEX ix_referrals_trial ON referrals (trial_id, arm_id);

CREATE TABLE referral_transitions (
    transition_id         text PRIMARY KEY,
    referral_id           text NOT NULL REFERENCES referrals (referral_id),
    sequence              integer NOT NULL,
    from_state            integer NOT NULL,
    to_state              integer NOT NULL,
    occurred_at           text NOT NULL,
    applied_at            text NOT NULL,
    made_by               text NOT NULL,
    made_by_facility_code text NOT NULL,
    outcome               integer NOT NULL DEFAULT 0,
    transition            bytea NOT NULL,
    UNIQUE (referral_id, sequence)
);
