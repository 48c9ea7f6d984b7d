-- While a consultation waits for an expert: its place in its organ system's queue, as the hub last said (0 otherwise).
ALTER TABLE consultations ADD COLUMN queue_position INTEGER NOT NULL DEFAULT 0;
