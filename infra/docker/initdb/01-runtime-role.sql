-- The runtime role the bot connects as (compose.yaml's DATABASE_URL). hrbot grants it what it needs on every
-- start and `hrbot db upgrade`, as the owner; it owns nothing and cannot bypass row-level security.
CREATE ROLE hrbot_app LOGIN PASSWORD 'hrbot_app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
