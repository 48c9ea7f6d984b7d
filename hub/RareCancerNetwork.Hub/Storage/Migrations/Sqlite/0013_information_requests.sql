-- The assigned expert's requests for more information and the requesting facility's answers (protobuf
-- InformationRequest, rewritten once when answered), in the order asked.
CREATE TABLE consultation_information_requests (
    request_id      TEXT PRIMARY KEY,
    consultation_id TEXT NOT NULL REFERENCES consultations (consultation_id),
    sequence        INTEGER NOT NULL,
    request         BLOB NOT NULL,
    asked_at        TEXT NOT NULL,
    answered_at     TEXT,
    UNIQUE (consultation_id, sequence)
) WITHOUT ROWID;
