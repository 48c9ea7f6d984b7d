-- The W3C trace context of the call that queued an entry, so its delivery continues the same trace to the hub.
ALTER TABLE outbox ADD COLUMN trace_parent TEXT;
