-- How the facility closes a consultation: withdrawn before any report (with its reason), or a report version read
-- and acknowledged. Both travel to the hub in the outbox, behind the consultation itself.
ALTER TABLE consultations ADD COLUMN withdrawal_reason TEXT;
ALTER TABLE consultations ADD COLUMN acknowledged_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consultations ADD COLUMN acknowledged_at TEXT;
