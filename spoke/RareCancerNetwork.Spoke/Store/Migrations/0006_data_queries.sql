-- Data queries the national registry's data managers raised on the facility's records, as the hub's
-- feed brought them (the query itself, protobuf DataQuery, with the columns listings filter on). The
-- facility's answer travels in the outbox; the closing comes back through the feed.
CREATE TABLE registry_data_queries (
    query_id    TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL REFERENCES registry_records (record_id),
    state       INTEGER NOT NULL,
    raised_at   TEXT NOT NULL,
    query       BLOB NOT NULL,
    received_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_registry_data_queries_record ON registry_data_queries (record_id, state);
CREATE INDEX ix_registry_data_queries_raised ON registry_data_queries (raised_at, query_id);
