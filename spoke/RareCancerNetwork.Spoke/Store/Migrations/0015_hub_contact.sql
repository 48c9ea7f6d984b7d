-- The node's last successful report to the hub (when, and the hub's feed head then, for the feed lag) and its last
-- failed one (when, and why: unreachable, or the hub refusing this node's contract version with the side to upgrade).
CREATE TABLE hub_contact (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    last_contact_at   TEXT,
    hub_feed_head     INTEGER NOT NULL DEFAULT 0,
    hub_contract      INTEGER NOT NULL DEFAULT 0,
    last_failure_at   TEXT,
    last_failure      TEXT
);
INSERT INTO hub_contact (id) VALUES (1);
