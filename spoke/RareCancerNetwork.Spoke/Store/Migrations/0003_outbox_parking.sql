-- Delivery keeps order only where it matters (one record's versions; the audit chain), so one entry
-- that keeps failing does not block the rest. An entry that fails for a reason a retry cannot cure is
-- parked with its reason until an operator re-sends it.
ALTER TABLE outbox ADD COLUMN ordering_key TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN parked_at TEXT;
UPDATE outbox SET ordering_key = CASE kind WHEN 'forward_audit' THEN 'audit' ELSE 'consultation:' || aggregate_id END;

DROP INDEX ix_outbox_pending;
CREATE INDEX ix_outbox_pending ON outbox (outbox_id) WHERE delivered_at IS NULL AND failed_at IS NULL AND parked_at IS NULL;
CREATE INDEX ix_outbox_ordering ON outbox (ordering_key, outbox_id) WHERE delivered_at IS NULL AND failed_at IS NULL;
