-- The expert's requests for more information as the feed brought them (protobuf InformationRequest), with the
-- facility's answer once given here; the answer travels in the outbox, behind the consultation.
CREATE TABLE consultation_information_requests (
    request_id      TEXT PRIMARY KEY,
    consultation_id TEXT NOT NULL REFERENCES consultations (consultation_id),
    request         BLOB NOT NULL,
    asked_at        TEXT NOT NULL,
    answered_at     TEXT
) WITHOUT ROWID;
CREATE INDEX ix_consultation_information_requests ON consultation_information_requests (consultation_id, asked_at);
