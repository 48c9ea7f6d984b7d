-- Attached files on their way to the hub, one row per consultation and file from when the spoke holds the file whole
-- (the bytes live in the content-addressed folder, Spoke:Attachments:Folder). The bytes the hub last reported, the
-- highest offset sent, the bytes sent again after a resume (what a broken upload cost), and the last failure.
CREATE TABLE attachment_deliveries (
    consultation_id    TEXT NOT NULL REFERENCES consultations (consultation_id),
    sha256             TEXT NOT NULL,
    queued_at          TEXT NOT NULL,
    hub_received_bytes INTEGER NOT NULL DEFAULT 0,
    hub_complete       INTEGER NOT NULL DEFAULT 0,
    sent_through       INTEGER NOT NULL DEFAULT 0,
    bytes_resent       INTEGER NOT NULL DEFAULT 0,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (consultation_id, sha256)
) WITHOUT ROWID;
