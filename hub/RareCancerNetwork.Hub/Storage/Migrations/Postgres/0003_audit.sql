-- The hub's own tamper-evident audit trail (the same columns as the node library's audit_log.sql),
-- and the trails spokes forward for central review.
CREATE TABLE audit_log (
    sequence       bigint PRIMARY KEY,
    entry_id       text NOT NULL UNIQUE,
    occurred_at    text NOT NULL,
    event_type     text NOT NULL,
    action         text NOT NULL,
    outcome        text NOT NULL,
    event          text NOT NULL,
    user_id        text NOT NULL,
    user_role      text NOT NULL,
    node_id        text NOT NULL,
    source_address text NOT NULL,
    object_type    text NOT NULL,
    object_id      text NOT NULL,
    detail         text NOT NULL,
    previous_hash  text NOT NULL,
    entry_hash     text NOT NULL
);
CREATE INDEX ix_audit_log_time ON audit_log (occurred_at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION refuse_change('the audit log is append-only');
-- TRUNCATE skips row triggers; refuse it too.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the audit log is append-only');

CREATE TABLE forwarded_audit_log (
    origin_node_id text NOT NULL REFERENCES spoke_nodes (node_id),
    sequence       bigint NOT NULL,
    entry_id       text NOT NULL,
    occurred_at    text NOT NULL,
    event_type     text NOT NULL,
    action         text NOT NULL,
    outcome        text NOT NULL,
    event          text NOT NULL,
    user_id        text NOT NULL,
    user_role      text NOT NULL,
    node_id        text NOT NULL,
    source_address text NOT NULL,
    object_type    text NOT NULL,
    object_id      text NOT NULL,
    detail         text NOT NULL,
    previous_hash  text NOT NULL,
    entry_hash     text NOT NULL,
    PRIMARY KEY (origin_node_id, sequence)
);
CREATE INDEX ix_forwarded_audit_time ON forwarded_audit_log (occurred_at);
CREATE TRIGGER forwarded_audit_append_only BEFORE UPDATE OR DELETE ON forwarded_audit_log
FOR EACH ROW EXECUTE FUNCTION refuse_change('the audit log is append-only');
CREATE TRIGGER forwarded_audit_no_truncate BEFORE TRUNCATE ON forwarded_audit_log
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the audit log is append-only');
