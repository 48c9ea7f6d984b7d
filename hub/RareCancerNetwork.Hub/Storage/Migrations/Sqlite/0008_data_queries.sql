-- Registry data managers (a new role, with a mandatory second factor like administrators). SQLite
-- cannot change a CHECK constraint, so the people table is rebuilt with the same columns.
CREATE TABLE users_rebuilt (
    user_id               TEXT PRIMARY KEY,
    display_name          TEXT NOT NULL,
    role                  TEXT NOT NULL CHECK (role IN ('pathologist', 'expert_pathologist', 'referral_coordinator', 'statistician', 'administrator', 'registry_data_manager')),
    facility_code         TEXT NOT NULL REFERENCES facilities (facility_code),
    expert_id             TEXT REFERENCES experts (expert_id),
    password_hash         TEXT NOT NULL,
    totp_secret_protected TEXT,
    -- Last accepted TOTP time step: a code is never accepted twice.
    totp_last_step        INTEGER NOT NULL DEFAULT 0,
    failed_sign_ins       INTEGER NOT NULL DEFAULT 0,
    locked_until          TEXT,
    registered_at         TEXT NOT NULL,
    disabled_at           TEXT,
    CHECK (role NOT IN ('administrator', 'registry_data_manager') OR totp_secret_protected IS NOT NULL),
    CHECK (role <> 'expert_pathologist' OR expert_id IS NOT NULL)
) WITHOUT ROWID;
INSERT INTO users_rebuilt (user_id, display_name, role, facility_code, expert_id, password_hash, totp_secret_protected,
                           totp_last_step, failed_sign_ins, locked_until, registered_at, disabled_at)
SELECT user_id, display_name, role, facility_code, expert_id, password_hash, totp_secret_protected,
       totp_last_step, failed_sign_ins, locked_until, registered_at, disabled_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

-- Data queries on registry records: the query itself (protobuf DataQuery) with the columns listings
-- filter on. They go with their record when consent is withdrawn.
CREATE TABLE registry_data_queries (
    query_id       TEXT PRIMARY KEY,
    record_id      TEXT NOT NULL REFERENCES registry_records (record_id),
    spoke_node_id  TEXT NOT NULL REFERENCES spoke_nodes (node_id),
    facility_code  TEXT NOT NULL REFERENCES facilities (facility_code),
    state          INTEGER NOT NULL,
    raised_at      TEXT NOT NULL,
    -- What the data manager asked (record, field, question): a repeat of the same query id must match it.
    request_sha256 TEXT NOT NULL,
    query          BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_registry_data_queries_record ON registry_data_queries (record_id, state);
CREATE INDEX ix_registry_data_queries_facility ON registry_data_queries (facility_code, state, raised_at);
CREATE INDEX ix_registry_data_queries_raised ON registry_data_queries (raised_at, query_id);
