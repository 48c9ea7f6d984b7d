-- The hotline's calls at the centre that took them. The whole record (notes included) is the latest revision's
-- protobuf; the caller's contact sits beside it and is never queued for the hub. Notes and the cancer as described are
-- also columns, for the full-text index (trigram: Japanese has no spaces between words).
CREATE TABLE hotline_calls (
    call_id             TEXT NOT NULL UNIQUE,
    call                BLOB NOT NULL,
    revision            INTEGER NOT NULL,
    started_at          TEXT NOT NULL,
    notes               TEXT NOT NULL,
    cancer_description  TEXT NOT NULL,
    request_sha256      TEXT NOT NULL,
    callback_contact    BLOB,
    updated_at          TEXT NOT NULL
);
CREATE INDEX ix_hotline_calls_started ON hotline_calls (started_at DESC, call_id DESC);

CREATE TABLE hotline_call_topics (
    call_id  TEXT NOT NULL REFERENCES hotline_calls (call_id),
    topic    INTEGER NOT NULL,
    PRIMARY KEY (topic, call_id)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE hotline_call_text USING fts5 (notes, cancer_description, content = 'hotline_calls', content_rowid = 'rowid', tokenize = 'trigram');

CREATE TRIGGER hotline_calls_text_insert AFTER INSERT ON hotline_calls BEGIN
    INSERT INTO hotline_call_text (rowid, notes, cancer_description) VALUES (new.rowid, new.notes, new.cancer_description);
END;
CREATE TRIGGER hotline_calls_text_update AFTER UPDATE OF notes, cancer_description ON hotline_calls BEGIN
    INSERT INTO hotline_call_text (hotline_call_text, rowid, notes, cancer_description) VALUES ('delete', old.rowid, old.notes, old.cancer_description);
    INSERT INTO hotline_call_text (rowid, notes, cancer_description) VALUES (new.rowid, new.notes, new.cancer_description);
END;
CREATE TRIGGER hotline_calls_text_delete AFTER DELETE ON hotline_calls BEGIN
    INSERT INTO hotline_call_text (hotline_call_text, rowid, notes, cancer_description) VALUES ('delete', old.rowid, old.notes, old.cancer_description);
END;

-- A call's delivery state is read from its outbox entries by ordering key, as referrals' are.
CREATE INDEX ix_outbox_hotline ON outbox (ordering_key, outbox_id) WHERE kind = 'deliver_hotline_call';
