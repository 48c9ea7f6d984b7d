-- The hub's report-signing keys: dedicated to signing expert reports (never tokens). The private key stays in
-- the store, shared by every instance; the certificate (public key) is published to the spokes. A key is never
-- deleted: retired keys sign nothing new, and the reports they signed stay verifiable.
CREATE TABLE report_signing_keys (
    key_id      text PRIMARY KEY,
    pkcs12      bytea NOT NULL,
    certificate bytea NOT NULL,
    not_before  text NOT NULL,
    added_at    text NOT NULL,
    retired_at  text
);
