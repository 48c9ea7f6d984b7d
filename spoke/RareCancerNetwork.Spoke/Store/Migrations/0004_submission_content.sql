-- A submission is recognised by its content (local patient id and details) as well as by its id, so
-- sending the same file twice never creates a second consultation. Rows stored before this version
-- carry no content hash and are recognised by id only.
ALTER TABLE consultations ADD COLUMN content_sha256 TEXT;
CREATE UNIQUE INDEX ux_consultations_content ON consultations (content_sha256) WHERE content_sha256 IS NOT NULL;
