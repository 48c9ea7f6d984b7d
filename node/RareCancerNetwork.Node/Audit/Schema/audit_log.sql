-- A node's tamper-evident audit trail (AuditLog): the same table at the hub and at every spoke.
CREATE TABLE audit_log (
    sequence       INTEGER PRIMARY KEY,
    entry_id       TEXT NOT NULL UNIQUE,
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
    entry_hash     TEXT NOT NULL
);
CREATE INDEX ix_audit_log_time ON audit_log (occurred_at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
