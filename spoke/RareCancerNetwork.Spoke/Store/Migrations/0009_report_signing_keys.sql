-- The hub's report-signing keys (public parts), fetched from the hub and kept, so that the spoke verifies its
-- reports' signatures offline, old reports included after the hub rolls its key over.
CREATE TABLE report_signing_keys (
    key_id      TEXT PRIMARY KEY,
    certificate BLOB NOT NULL,
    not_before  TEXT NOT NULL,
    retired     INTEGER NOT NULL,
    fetched_at  TEXT NOT NULL
) WITHOUT ROWID;
