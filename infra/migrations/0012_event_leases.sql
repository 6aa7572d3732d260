-- Events are marked handled only with their answer (issue 12). A claim is a lease: 'answering' until the
-- listener finishes, then 'answered' (or 'failed' when the listener raised, 'abandoned' after 3 lost attempts).
-- The body is kept while answering so any replica can answer an event whose process died or stopped; it is
-- dropped as soon as the event is answered, and the whole row goes after two days (retention).
ALTER TABLE processed_events
    ADD COLUMN state        text NOT NULL DEFAULT 'answered'
                            CHECK (state IN ('answering', 'answered', 'failed', 'abandoned')),
    ADD COLUMN lease_until  timestamptz,
    ADD COLUMN claim_token  text,
    ADD COLUMN attempts     integer NOT NULL DEFAULT 1,
    ADD COLUMN body         jsonb,
    ADD COLUMN placeholder  jsonb,   -- where the progress message was posted, for the answer to replace
    ADD COLUMN answered_at  timestamptz;
CREATE INDEX processed_events_due ON processed_events (lease_until) WHERE state = 'answering';
