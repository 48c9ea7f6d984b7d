-- Nothing that must be unique lives in one process: each spoke's feed sequence is a counter row
-- (updated by serializable transactions, so sequences commit in order across instances), and the
-- keys every instance must share (token signing and encryption, data protection) live in the store.

CREATE TABLE spoke_feed_heads (
    spoke_node_id text PRIMARY KEY REFERENCES spoke_nodes (node_id),
    last_sequence bigint NOT NULL CHECK (last_sequence > 0)
);
-- A spoke's saved cursor stays valid: its sequences go on from the highest it has seen.
INSERT INTO spoke_feed_heads (spoke_node_id, last_sequence)
SELECT spoke_node_id, MAX(sequence) FROM spoke_events GROUP BY spoke_node_id;

ALTER TABLE spoke_events ALTER COLUMN sequence DROP IDENTITY;
ALTER TABLE spoke_events DROP CONSTRAINT spoke_events_pkey;
ALTER TABLE spoke_events ADD PRIMARY KEY (spoke_node_id, sequence);
DROP INDEX ix_spoke_events_node;

-- Every instance's feed subscribers wake when an event commits, whichever instance wrote it:
-- a notification sent in the writing transaction is delivered at its commit, and only then.
CREATE FUNCTION notify_spoke_feed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rcn_spoke_feed', NEW.spoke_node_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER spoke_events_notify AFTER INSERT ON spoke_events
FOR EACH ROW EXECUTE FUNCTION notify_spoke_feed();

CREATE TABLE token_keys (
    sha256      text PRIMARY KEY,
    purpose     text NOT NULL CHECK (purpose IN ('signing', 'encryption')),
    pkcs12      bytea NOT NULL,
    not_before  text NOT NULL,
    not_after   text NOT NULL,
    added_at    text NOT NULL,
    retired_at  text
);

CREATE TABLE data_protection_keys (
    friendly_name text PRIMARY KEY,
    xml           text NOT NULL,
    stored_at     text NOT NULL
);
