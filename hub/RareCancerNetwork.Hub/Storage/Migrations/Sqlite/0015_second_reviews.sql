-- Reports of major discordance held for a second expert's review before release: each round's draft (protobuf
-- ConsultationReport, unsigned), author, reviewer, and decision (1 approved and released, 2 returned to the author).
CREATE TABLE report_reviews (
    consultation_id    TEXT NOT NULL REFERENCES consultations (consultation_id),
    round              INTEGER NOT NULL,
    draft              BLOB NOT NULL,
    author_expert_id   TEXT NOT NULL REFERENCES experts (expert_id),
    reviewer_expert_id TEXT NOT NULL REFERENCES experts (expert_id),
    previous_status    INTEGER NOT NULL,
    requested_at       TEXT NOT NULL,
    decision           INTEGER,
    comment            TEXT,
    decided_at         TEXT,
    PRIMARY KEY (consultation_id, round)
) WITHOUT ROWID;
