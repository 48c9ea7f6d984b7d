-- A referral's and an attached file's delivery state are read from their outbox entries, answered ones included, by
-- ordering key: small partial indexes over those kinds alone. The many entries of the registry and the audit trail
-- stay out of them (and the index of queued entries stays partial: delivery's scan of what is due stays short).
CREATE INDEX ix_outbox_referrals ON outbox (ordering_key, outbox_id) WHERE kind IN ('deliver_referral', 'referral_transition');
CREATE INDEX ix_outbox_attachments ON outbox (ordering_key, outbox_id) WHERE kind = 'deliver_attachment';
