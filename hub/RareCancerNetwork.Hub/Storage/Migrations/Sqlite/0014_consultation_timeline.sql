-- Every step of a consultation (protobuf ConsultationStep): receipt, each assignment, decline and wait for an
-- expert, requests and answers, reports, closing; the requesting spoke receives each through its feed. And who
-- declined what, so that a declined consultation never returns to that expert by itself.
CREATE TABLE consultation_steps (
    consultation_id TEXT NOT NULL REFERENCES consultations (consultation_id),
    sequence        INTEGER NOT NULL,
    kind            INTEGER NOT NULL,
    occurred_at     TEXT NOT NULL,
    step            BLOB NOT NULL,
    PRIMARY KEY (consultation_id, sequence)
) WITHOUT ROWID;

CREATE TABLE consultation_declines (
    consultation_id TEXT NOT NULL REFERENCES consultations (consultation_id),
    expert_id       TEXT NOT NULL REFERENCES experts (expert_id),
    reason          INTEGER NOT NULL,
    comment         TEXT NOT NULL,
    declined_at     TEXT NOT NULL,
    PRIMARY KEY (consultation_id, expert_id)
) WITHOUT ROWID;
