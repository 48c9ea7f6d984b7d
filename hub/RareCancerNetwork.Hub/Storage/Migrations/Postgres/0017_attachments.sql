-- Attached files at the hub. The bytes live in the content-addressed folder (Hub:Attachments:Folder); a row in
-- attachment_blobs says a file is whole and verified there. consultation_attachments lists each consultation's files
-- (request_id '' for its own, else the information request whose answer carried it), so the hub knows who may send
-- and download which file, and when a consultation's files have all arrived.
CREATE TABLE attachment_blobs (
    sha256       text PRIMARY KEY,
    size_bytes   bigint NOT NULL,
    completed_at text NOT NULL
);
CREATE TABLE consultation_attachments (
    consultation_id text NOT NULL REFERENCES consultations (consultation_id),
    request_id      text NOT NULL,
    sha256          text NOT NULL,
    file_name       text NOT NULL,
    media_type      text NOT NULL,
    size_bytes      bigint NOT NULL,
    PRIMARY KEY (consultation_id, request_id, sha256)
);
CREATE INDEX ix_consultation_attachments_sha ON consultation_attachments (sha256);
