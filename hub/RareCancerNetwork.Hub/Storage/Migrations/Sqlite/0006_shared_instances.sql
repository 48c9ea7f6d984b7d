-- Nothing that must be unique lives in one process: each spoke's feed sequence is a counter row
-- (taken under the write lock, so sequences commit in order), and the keys every instance must share
-- (token signing and encryption, data protection) live in the store, not in a data folder.

CREATE TABLE spoke_feed_heads (
    spoke_node_id TEXT PRIMARY KEY REFERENCES spoke_nodes (node_id),
    last_sequence INTEGER NOT NULL CHECK (last_sequence > 0)
) WITHOUT ROWID;
-- A spoke's saved cursor stays valid: its sequences go on from the highest it has seen.
INSERT INTO spoke_feed_heads (spoke_node_id, last_sequence)
SELECT spoke_node_id, MAX(sequence) FROM spoke_events GROUP BY spoke_node_id;

CREATE TABLE spoke_events_by_node (
    spoke_node_id   TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    sequence        INTEGER NOT NULL,
    consultation_id TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    payload         BLOB NOT NULL,
    PRIMARY KEY (spoke_node_id, sequence)
) WITHOUT ROWID;
INSERT INTO spoke_events_by_node (spoke_node_id, sequence, consultation_id, occurred_at, payload)
SELECT spoke_node_id, sequence, consultation_id, occurred_at, payload FROM spoke_events;
DROP TABLE spoke_events;
ALTER TABLE spoke_events_by_node RENAME TO spoke_events;

CREATE TABLE token_keys (
    sha256      TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('signing', 'encryption')),
    pkcs12      BLOB NOT NULL,
    not_before  TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    retired_at  TEXT
) WITHOUT ROWID;

CREATE TABLE data_protection_keys (
    friendly_name TEXT PRIMARY KEY,
    xml           TEXT NOT NULL,
    stored_at     TEXT NOT NULL
) WITHOUT ROWID;
