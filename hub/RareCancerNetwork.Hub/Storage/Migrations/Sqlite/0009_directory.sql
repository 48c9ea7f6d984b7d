-- The directory every spoke holds a copy of: facilities gain their organ specialties, whether they are a
-- rare-cancer core center, retirement, and the spoke that serves them (an administrator's choice, else
-- worked out from the registered spokes); trials join it. Each entry's current state is published as a
-- protobuf DirectoryEntry under a network-wide directory version, which spokes pull after their own.

ALTER TABLE facilities ADD COLUMN rare_cancer_core_center INTEGER NOT NULL DEFAULT 0;
ALTER TABLE facilities ADD COLUMN served_by_node_override TEXT REFERENCES spoke_nodes (node_id);
ALTER TABLE facilities ADD COLUMN retired_at TEXT;

CREATE TABLE facility_specialties (
    facility_code TEXT NOT NULL REFERENCES facilities (facility_code),
    organ_system  INTEGER NOT NULL,
    PRIMARY KEY (facility_code, organ_system)
) WITHOUT ROWID;

-- A trial as loaded from the catalogue file (protobuf Trial); the columns are what listings filter on.
CREATE TABLE trials (
    trial_id   TEXT PRIMARY KEY,
    status     INTEGER NOT NULL,
    trial      BLOB NOT NULL,
    loaded_at  TEXT NOT NULL,
    retired_at TEXT
) WITHOUT ROWID;

CREATE TABLE trial_sites (
    trial_id      TEXT NOT NULL REFERENCES trials (trial_id),
    facility_code TEXT NOT NULL REFERENCES facilities (facility_code),
    PRIMARY KEY (trial_id, facility_code)
) WITHOUT ROWID;

-- The published directory: one row per entry (kind 'facility', 'expert' or 'trial'), rewritten with a new
-- version whenever its published content changes. The single counter row orders versions across instances.
CREATE TABLE directory_entries (
    kind      TEXT NOT NULL CHECK (kind IN ('facility', 'expert', 'trial')),
    entry_key TEXT NOT NULL,
    version   INTEGER NOT NULL UNIQUE,
    entry     BLOB NOT NULL,
    PRIMARY KEY (kind, entry_key)
) WITHOUT ROWID;

CREATE TABLE directory_head (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_version INTEGER NOT NULL
);
INSERT INTO directory_head (id, last_version) VALUES (1, 0);
