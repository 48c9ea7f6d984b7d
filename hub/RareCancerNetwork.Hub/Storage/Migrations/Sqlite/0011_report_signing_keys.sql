-- The hub's report-signing keys: dedicated to signing expert reports (never tokens). The private key stays in
-- the store, shared by every instance; the certificate (public key) is published to the spokes. A key is never
-- deleted: retired keys sign nothing new, and the reports they signed stay verifiable.
CREATE TABLE report_signing_keys (
    key_id      TEXT PRIMARY KEY,
    pkcs12      BLOB NOT NULL,
    certificate BLOB NOT NULL,
    not_before  TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    retired_at  TEXT
) WITHOUT ROWID;
