-- The hub's requests to send again what it acknowledged after a point it was restored to, each acted on once
-- (in the transaction that put the entries back in the queue).
CREATE TABLE redeliveries (
    request_id  TEXT PRIMARY KEY,
    restored_to TEXT NOT NULL,
    acted_at    TEXT NOT NULL,
    entries     INTEGER NOT NULL
) WITHOUT ROWID;
