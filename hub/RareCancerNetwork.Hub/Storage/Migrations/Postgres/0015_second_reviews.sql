-- Reports of major discordance held for a second expert's review before release: each round's draft (protobuf
-- ConsultationReport, unsigned), author, reviewer, and decision (1 approved and released, 2 returned to the author).
CREATE TABLE report_reviews (
    consultation_id    text NOT NULL REFERENCES consultations (consultation_id),
    round              integer NOT NULL,
    draft              bytea NOT NULL,
    author_expert_id   text NOT NULL REFERENCES experts (expert_id),
    reviewer_expert_id text NOT NULL REFERENCES experts (expert_id),
    previous_status    integer NOT NULL,
    requested_at       text NOT NULL,
    decision           integer,
    comment            text,
    decided_at         text,
    PRIMARY KEY (consultation_id, round)
);
