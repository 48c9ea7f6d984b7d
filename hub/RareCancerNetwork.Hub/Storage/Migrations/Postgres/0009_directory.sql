-- The directory every spoke holds a copy of: facilities gain their organ specialties, whether they are a
-- rare-cancer core center, retirement, and the spoke that serves them (an administrator's choice, else
-- worked out from the registered spokes); trials join it. Each entry's current state is published as a
-- protobuf DirectoryEntry under a network-wide directory version, which spokes pull after their own.

ALTER TABLE facilities ADD COLUMN rare_cancer_core_center integer NOT NULL DEFAULT 0;
ALTER TABLE facilities ADD COLUMN served_by_node_override text REFERENCES spoke_nodes (node_id);
ALTER TABLE facilities ADD COLUMN retired_at text;

CREATE TABLE facility_specialties (
    facility_code text NOT NULL REFERENCES facilities (facility_code),
    organ_system  integer NOT NULL,
    PRIMARY KEY (facility_code, organ_system)
);

-- A trial as loaded from the catalogue file (protobuf Trial); the columns are what listings filter on.
CREATE TABLE trials (
    trial_id   text PRIMARY KEY,
    status     integer NOT NULL,
    trial      bytea NOT NULL,
    loaded_at  text NOT NULL,
    retired_at text
);

CREATE TABLE trial_sites (
    trial_id      text NOT NULL REFERENCES trials (trial_id),
    facility_code text NOT NULL REFERENCES facilities (facility_code),
    PRIMARY KEY (trial_id, facility_code)
);

-- The published directory: one row per entry (kind 'facility', 'expert' or 'trial'), rewritten with a new
-- version whenever its published content changes. The single counter row orders versions across instances.
CREATE TABLE directory_entries (
    kind      text NOT NULL CHECK (kind IN ('facility', 'expert', 'trial')),
    entry_key text NOT NULL,
    version   bigint NOT NULL UNIQUE,
    entry     bytea NOT NULL,
    PRIMARY KEY (kind, entry_key)
);

CREATE TABLE directory_head (
    id           integer PRIMARY KEY CHECK (id = 1),
    last_version bigint NOT NULL
);
INSERT INTO directory_head (id, last_version) VALUES (1, 0);
