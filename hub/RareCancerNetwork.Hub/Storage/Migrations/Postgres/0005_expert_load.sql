-- Assignment in time independent of the backlog: each expert's open cases are kept current (not
-- recounted per delivery), and the waiting queue is indexed per organ system in priority order.
ALTER TABLE experts ADD COLUMN open_cases integer NOT NULL DEFAULT 0 CHECK (open_cases >= 0);
UPDATE experts SET open_cases = (
    SELECT COUNT(*) FROM consultations c WHERE c.assigned_expert_id = experts.expert_id AND c.status IN (3, 4));

DROP INDEX ix_consultations_waiting;
CREATE INDEX ix_consultations_waiting ON consultations (organ_system, urgency DESC, received_at, consultation_id) WHERE status = 2;
CREATE INDEX ix_expert_specialties_organ ON expert_specialties (organ_system, expert_id);
