-- Referrals this spoke sent, or that are addressed to a facility it serves: the referral as the hub last
-- confirmed it (or as created here, before the hub has it; protobuf Referral), the facility's own patient id
-- for the ones sent from here (never sent anywhere), and the state once the changes made here are applied.
CREATE TABLE referrals (
    referral_id      TEXT PRIMARY KEY,
    sent_here        INTEGER NOT NULL,
    addressed_here   INTEGER NOT NULL,
    local_patient_id TEXT,
    request_sha256   TEXT,
    referral         BLOB NOT NULL,
    effective_state  INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_referrals_recent ON referrals (updated_at, referral_id);

-- Changes made here that the hub has not applied yet (each travels in the outbox; the hub's version, back
-- through the feed, takes its place).
CREATE TABLE referral_local_transitions (
    transition_id TEXT PRIMARY KEY,
    referral_id   TEXT NOT NULL REFERENCES referrals (referral_id),
    transition    BLOB NOT NULL,
    made_at       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_referral_local_transitions ON referral_local_transitions (referral_id, made_at);
