-- The assigned expert's requests for more information and the requesting facility's answers (protobuf
-- InformationRequest, rewritten once when answered), in the order asked.
CREATE TABLE consultation_information_requests (
    request_id      text PRIMARY KEY,
    consultation_id text NOT NULL REFERENCES consultations (consultation_id),
    sequence        integer NOT NULL,
    request         bytea NOT NULL,
    asked_at        text NOT NULL,
    answered_at     text,
    UNIQUE (consultation_id, sequence)
);
