-- HR admins (besides HRBOT_ADMINS) and the audit log of admin actions and reads of personal records.
CREATE TABLE admins (
    slack_user_id  text PRIMARY KEY,
    added_by       text,
    added_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    audit_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,          -- Slack user id, cli:<user>, or sync:<folder>
    action    text NOT NULL,          -- ingest, remove, set_audience, records_import, admin_add, read_records...
    target    text,
    details   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
