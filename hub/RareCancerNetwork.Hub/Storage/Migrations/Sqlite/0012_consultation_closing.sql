-- How a consultation closes: withdrawn by its facility (with a reason), or its report acknowledged. The times
-- give the statistics their turnarounds: submission to first report, first report to acknowledgement.
ALTER TABLE consultations ADD COLUMN first_reported_at TEXT;
ALTER TABLE consultations ADD COLUMN acknowledged_at TEXT;
ALTER TABLE consultations ADD COLUMN acknowledged_by TEXT;
ALTER TABLE consultations ADD COLUMN acknowledged_version INTEGER;
ALTER TABLE consultations ADD COLUMN withdrawn_at TEXT;
ALTER TABLE consultations ADD COLUMN withdrawn_by TEXT;
ALTER TABLE consultations ADD COLUMN withdrawal_reason TEXT;
UPDATE consultations SET first_reported_at = (SELECT MIN(r.signed_at) FROM consultation_reports r WHERE r.consultation_id = consultations.consultation_id);
