-- A referral's or an attached file's delivery state is read from its outbox entries by ordering key, answered ones
-- included: the index covers every entry, not only those still queued. (Delivery no longer has to move an entry
-- out of the index either.)
DROP INDEX ix_outbox_ordering;
CREATE INDEX ix_outbox_ordering ON outbox (ordering_key, outbox_id);
