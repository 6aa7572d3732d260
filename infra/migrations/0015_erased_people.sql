-- People erased on request (`hrbot records forget`): one-way hashes of their employee id, Slack user id and
-- work email, so that a scheduled records source (an HR system still listing a leaver) does not bring them back.
-- An HR admin importing the person again by hand (a CSV) is a deliberate act and lifts it.
CREATE TABLE erased_people (
    id_hash    text PRIMARY KEY,
    erased_at  timestamptz NOT NULL DEFAULT now()
);
