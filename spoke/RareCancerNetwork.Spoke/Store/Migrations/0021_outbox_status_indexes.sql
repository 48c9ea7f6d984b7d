-- The outbox keeps every delivered entry (for redelivery after the hub is restored from a backup), so it grows with all
-- the node ever sent: a million registry versions after a site's first load. Its status (reported to the hub every
-- 30 seconds and shown by 'outbox status') counted refused entries, found the last delivery and listed parked entries
-- by reading the whole table, three times a report. Each now reads only the entries it is about.
CREATE INDEX ix_outbox_refused ON outbox (outbox_id) WHERE failed_at IS NOT NULL;
CREATE INDEX ix_outbox_parked ON outbox (outbox_id) WHERE parked_at IS NOT NULL;
-- Deliveries are recorded in time order, so each lands at the end of this index.
CREATE INDEX ix_outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
