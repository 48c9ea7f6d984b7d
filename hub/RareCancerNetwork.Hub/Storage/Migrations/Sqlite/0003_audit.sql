-- The hub's own tamper-evident audit trail, and the trails spokes forward for central review.
-- @include audit_log.sql

CREATE TABLE forwarded_audit_log (
    origin_node_id TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    sequence       INTEGER NOT NULL,
    entry_id       TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    action         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    event          TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    user_role      TEXT NOT NULL,
    node_id        TEXT NOT NULL,
    source_address TEXT NOT NULL,
    object_type    TEXT NOT NULL,
    object_id      TEXT NOT NULL,
    detail         TEXT NOT NULL,
    previous_hash  TEXT NOT NULL,
    entry_hash     TEXT NOT NULL,
    PRIMARY KEY (origin_node_id, sequence)
) WITHOUT ROWID;
CREATE INDEX ix_forwarded_audit_time ON forwarded_audit_log (occurred_at);
CREATE TRIGGER forwarded_audit_no_update BEFORE UPDATE ON forwarded_audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER forwarded_audit_no_delete BEFORE DELETE ON forwarded_audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
