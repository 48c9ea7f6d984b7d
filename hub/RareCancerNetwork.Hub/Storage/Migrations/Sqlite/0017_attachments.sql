-- Attached files at the hub. The bytes live in the content-addressed folder (Hub:Attachments:Folder); a row in
-- attachment_blobs says a file is whole and verified there. consultation_attachments lists each consultation's files
-- (request_id '' for its own, else the information request whose answer carried it), so the hub knows who may send
-- and download which file, and when a consultation's files have all arrived.
CREATE TABLE attachment_blobs (
    sha256       TEXT PRIMARY KEY,
    size_bytes   INTEGER NOT NULL,
    completed_at TEXT NOT NULL
);
CREATE TABLE consultation_attachments (
    consultation_id TEXT NOT NULL REFERENCES consultations (consultation_id),
    request_id      TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, request_id, sha256)
);
CREATE INDEX ix_consultation_attachments_sha ON consultation_attachments (sha256);
