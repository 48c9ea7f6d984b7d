-- The place in its organ system's queue last told to a waiting consultation's spoke (0 once it no longer waits), so
-- that the hub tells the spoke only when the place changes.
ALTER TABLE consultations ADD COLUMN announced_queue_position INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_consultations_announced ON consultations (announced_queue_position) WHERE announced_queue_position > 0;
