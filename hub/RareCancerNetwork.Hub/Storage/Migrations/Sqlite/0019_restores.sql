-- Each time the hub was restored to an earlier point: spokes send again what the hub acknowledged after it.
CREATE TABLE hub_restores (
    request_id  TEXT PRIMARY KEY,
    restored_to TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
