-- The hotline. Calls delivered by spokes arrive without their notes and the cancer as described (those stay at the
-- centre); calls the central institution's counsellors record at the hub keep theirs. The record is the latest
-- revision's protobuf, with the columns search and the national figures read.
CREATE TABLE hotline_calls (
    call_id               text PRIMARY KEY,
    centre_facility_code  text NOT NULL REFERENCES facilities (facility_code),
    -- The spoke that delivered it; NULL for a call recorded at the hub.
    node_id               text REFERENCES spoke_nodes (node_id),
    revision              integer NOT NULL,
    call                  bytea NOT NULL,
    started_at            text NOT NULL,
    started_month         text NOT NULL,
    patient_prefecture    text NOT NULL,
    cancer_category       integer NOT NULL,
    facility_suggested    integer NOT NULL,
    referral_made         integer NOT NULL,
    second_opinion        integer NOT NULL,
    notes                 text NOT NULL,
    cancer_description    text NOT NULL,
    -- For calls recorded at the hub: the request that made revision 1 (a repeat is the same call).
    request_sha256        text,
    received_at           text NOT NULL,
    updated_at            text NOT NULL
);
CREATE INDEX ix_hotline_calls_centre ON hotline_calls (centre_facility_code, started_at, call_id);

CREATE TABLE hotline_call_topics (
    call_id  text NOT NULL REFERENCES hotline_calls (call_id),
    topic    integer NOT NULL,
    PRIMARY KEY (call_id, topic)
);

-- The facility's page for patients, shown by the public finder.
ALTER TABLE facilities ADD COLUMN contact_url text NOT NULL DEFAULT '';

-- Hotline counsellors (at a core center, through its spoke; at the central institution, through the hub): new roles.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('pathologist', 'expert_pathologist', 'referral_coordinator', 'statistician', 'administrator', 'registry_data_manager', 'hotline_counsellor', 'central_hotline_counsellor'));
