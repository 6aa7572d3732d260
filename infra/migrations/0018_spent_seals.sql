-- Sealed things are used once (issue 21, the outside review's F1 and F2). A seal proves the bot made a job or
-- stored an event, but a copy of a sealed row is sealed too: a leaked runtime credential could queue an admin's
-- old upload again (rolling a policy back in the admin's name) or answer an event again. A seal is spent here
-- when its job starts or its event is answered; a spent seal is refused. The runtime role may INSERT (spend) and
-- SELECT, never UPDATE or DELETE (un-spend); the owner's retention deletes seals past their validity, which the
-- sealed data itself carries, so an old copy is refused by its age instead.
CREATE TABLE spent_seals (
    seal      bytea PRIMARY KEY CHECK (octet_length(seal) = 32),
    purpose   text NOT NULL,
    spent_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX spent_seals_at ON spent_seals (spent_at);
