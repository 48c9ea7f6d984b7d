-- The consultation's timeline as the hub recorded it (protobuf ConsultationStep), step by step from the feed:
-- receipt, each assignment, decline and wait for an expert (with its place in the queue), requests, reports, closing.
CREATE TABLE consultation_steps (
    consultation_id TEXT NOT NULL REFERENCES consultations (consultation_id),
    sequence        INTEGER NOT NULL,
    step            BLOB NOT NULL,
    PRIMARY KEY (consultation_id, sequence)
) WITHOUT ROWID;
