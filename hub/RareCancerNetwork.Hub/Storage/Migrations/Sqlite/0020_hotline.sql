-- The hotline. Calls delivered by spokes arrive without their notes and the cancer as described (those stay at the
-- centre); calls the central institution's counsellors record at the hub keep theirs. The record is the latest
-- revision's protobuf, with the columns search and the national figures read.
CREATE TABLE hotline_calls (
    call_id               TEXT PRIMARY KEY,
    centre_facility_code  TEXT NOT NULL REFERENCES facilities (facility_code),
    -- The spoke that delivered it; NULL for a call recorded at the hub.
    node_id               TEXT REFERENCES spoke_nodes (node_id),
    revision              INTEGER NOT NULL,
    call                  BLOB NOT NULL,
    started_at            TEXT NOT NULL,
    started_month         TEXT NOT NULL,
    patient_prefecture    TEXT NOT NULL,
    cancer_category       INTEGER NOT NULL,
    facility_suggested    INTEGER NOT NULL,
    referral_made         INTEGER NOT NULL,
    second_opinion        INTEGER NOT NULL,
    notes                 TEXT NOT NULL,
    cancer_description    TEXT NOT NULL,
    -- For calls recorded at the hub: the request that made revision 1 (a repeat is the same call).
    request_sha256        TEXT,
    received_at           TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_hotline_calls_centre ON hotline_calls (centre_facility_code, started_at, call_id);

CREATE TABLE hotline_call_topics (
    call_id  TEXT NOT NULL REFERENCES hotline_calls (call_id),
    topic    INTEGER NOT NULL,
    PRIMARY KEY (call_id, topic)
) WITHOUT ROWID;

-- The facility's page for patients, shown by the public finder.
ALTER TABLE facilities ADD COLUMN contact_url TEXT NOT NULL DEFAULT '';

-- Hotline counsellors (at a core center, through its spoke; at the central institution, through the hub): new roles.
-- SQLite cannot change a CHECK constraint, so the people table is rebuilt with the same columns.
CREATE TABLE users_rebuilt (
    user_id                      TEXT PRIMARY KEY,
    display_name                 TEXT NOT NULL,
    role                         TEXT NOT NULL CHECK (role IN ('pathologist', 'expert_pathologist', 'referral_coordinator', 'statistician', 'administrator', 'registry_data_manager', 'hotline_counsellor', 'central_hotline_counsellor')),
    facility_code                TEXT NOT NULL REFERENCES facilities (facility_code),
    expert_id                    TEXT REFERENCES experts (expert_id),
    password_hash                TEXT NOT NULL,
    totp_secret_protected        TEXT,
    -- Last accepted TOTP time step: a code is never accepted twice.
    totp_last_step               INTEGER NOT NULL DEFAULT 0,
    failed_sign_ins              INTEGER NOT NULL DEFAULT 0,
    locked_until                 TEXT,
    registered_at                TEXT NOT NULL,
    disabled_at                  TEXT,
    exact_statistics_granted_by  TEXT,
    exact_statistics_granted_at  TEXT,
    CHECK (role NOT IN ('administrator', 'registry_data_manager') OR totp_secret_protected IS NOT NULL),
    CHECK (role <> 'expert_pathologist' OR expert_id IS NOT NULL)
) WITHOUT ROWID;
INSERT INTO users_rebuilt (user_id, display_name, role, facility_code, expert_id, password_hash, totp_secret_protected,
                           totp_last_step, failed_sign_ins, locked_until, registered_at, disabled_at,
                           exact_statistics_granted_by, exact_statistics_granted_at)
SELECT user_id, display_name, role, facility_code, expert_id, password_hash, totp_secret_protected,
       totp_last_step, failed_sign_ins, locked_until, registered_at, disabled_at,
       exact_statistics_granted_by, exact_statistics_granted_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
