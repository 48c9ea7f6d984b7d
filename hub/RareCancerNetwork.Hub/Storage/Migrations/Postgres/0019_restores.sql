-- Each time the hub was restored to an earlier point: spokes send again what the hub acknowledged after it.
CREATE TABLE hub_restores (
    request_id  text PRIMARY KEY,
    restored_to text NOT NULL,
    recorded_at text NOT NULL,
    recorded_by text NOT NULL
);
