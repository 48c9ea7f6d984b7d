-- The spoke's copy of the hub's directory (facilities, experts, trials), as pulled after each change the
-- feed announces: each entry's current state (protobuf DirectoryEntry) and the directory version that
-- last changed it. Searched and matched against while the hub is unreachable.
CREATE TABLE directory_entries (
    kind      TEXT NOT NULL CHECK (kind IN ('facility', 'expert', 'trial')),
    entry_key TEXT NOT NULL,
    version   INTEGER NOT NULL,
    entry     BLOB NOT NULL,
    PRIMARY KEY (kind, entry_key)
) WITHOUT ROWID;

CREATE TABLE directory_copy (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    version   INTEGER NOT NULL,
    synced_at TEXT
);
INSERT INTO directory_copy (id, version, synced_at) VALUES (1, 0, NULL);
