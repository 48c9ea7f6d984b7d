-- Registry data managers: a new role, with a mandatory second factor like administrators.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('pathologist', 'expert_pathologist', 'referral_coordinator', 'statistician', 'administrator', 'registry_data_manager'));
ALTER TABLE users ADD CONSTRAINT users_second_factor_check
    CHECK (role NOT IN ('administrator', 'registry_data_manager') OR totp_secret_protected IS NOT NULL);

-- Data queries on registry records: the query itself (protobuf DataQuery) with the columns listings
-- filter on. They go with their record when consent is withdrawn.
CREATE TABLE registry_data_queries (
    query_id       text PRIMARY KEY,
    record_id      text NOT NULL REFERENCES registry_records (record_id),
    spoke_node_id  text NOT NULL REFERENCES spoke_nodes (node_id),
    facility_code  text NOT NULL REFERENCES facilities (facility_code),
    state          integer NOT NULL,
    raised_at      text NOT NULL,
    -- What the data manager asked (record, field, question): a repeat of the same query id must match it.
    request_sha256 text NOT NULL,
    query          bytea NOT NULL
);
CREATE INDEX ix_registry_data_queries_record ON registry_data_queries (record_id, state);
CREATE INDEX ix_registry_data_queries_facility ON registry_data_queries (facility_code, state, raised_at);
CREATE INDEX ix_registry_data_queries_raised ON registry_data_queries (raised_at, query_id);
