-- The spoke's own tamper-evident audit trail; each entry is also queued for forwarding to the hub.
-- @include audit_log.sql

