-- Every step of a consultation (protobuf ConsultationStep): receipt, each assignment, decline and wait for an
-- expert, requests and answers, reports, closing; the requesting spoke receives each through its feed. And who
-- declined what, so that a declined consultation never returns to that expert by itself.
CREATE TABLE consultation_steps (
    consultation_id text NOT NULL REFERENCES consultations (consultation_id),
    sequence        integer NOT NULL,
    kind            integer NOT NULL,
    occurred_at     text NOT NULL,
    step            bytea NOT NULL,
    PRIMARY KEY (consultation_id, sequence)
);

CREATE TABLE consultation_declines (
    consultation_id text NOT NULL REFERENCES consultations (consultation_id),
    expert_id       text NOT NULL REFERENCES experts (expert_id),
    reason          integer NOT NULL,
    comment         text NOT NULL,
    declined_at     text NOT NULL,
    PRIMARY KEY (consultation_id, expert_id)
);
