-- Reminders (issue 26, item 3): a DM some weeks before a person's carried-over days lapse or their leave year ends
-- with days unused, for the people who asked for it, once per (person, kind, leave type, leave year).
--
-- reminder_optins is personal: a person's own choice, written and read only by a transaction bound to them (the
-- binding of migration 0011, as the records role), so a Slack button can change the clicking person's row and
-- nobody else's. The owner (the scheduled run) lists who opted in. A person erased or removed from the records
-- takes their rows with them (ON DELETE CASCADE).
-- `wanted` is the latest choice and `decided_at` the Slack action_ts of the click that made it: a click older than
-- the latest one (a signed request replayed within Slack's five minutes) changes nothing, so a replayed
-- "Remind me" cannot undo a later "Stop reminders". A stop keeps the row (wanted = false) for that reason.
CREATE TABLE reminder_optins (
    employee_id  text PRIMARY KEY REFERENCES employees (employee_id) ON DELETE CASCADE,
    wanted       boolean NOT NULL DEFAULT true,
    decided_at   numeric NOT NULL DEFAULT extract(epoch FROM now()),
    opted_in_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE reminder_optins ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_row ON reminder_optins FOR ALL TO hrbot_records
    USING (employee_id = (SELECT hrbot_asker())) WITH CHECK (employee_id = (SELECT hrbot_asker()));
GRANT SELECT, INSERT, UPDATE, DELETE ON reminder_optins TO hrbot_records;

-- One row per reminder ever due: its primary key is what makes "once" hold across workers and replicas. A run
-- claims a row ('sending') before it talks to Slack and marks it 'sent' after; Slack refusing or unreachable
-- before the message was taken marks it 'failed' (claimed again by a later run). A crash between the claim and
-- the mark leaves 'sending' for good: at most once, never twice. Owner only (knowledge/database/roles.py).
CREATE TABLE reminders_sent (
    employee_id  text NOT NULL REFERENCES employees (employee_id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('carry_over', 'year_end')),
    leave_type   text NOT NULL,
    leave_year   integer NOT NULL,
    state        text NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 1,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    error        text,
    PRIMARY KEY (employee_id, kind, leave_type, leave_year)
);

DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_all ON reminder_optins TO %I USING (true) WITH CHECK (true)', current_user);
    ALTER TABLE reminder_optins FORCE ROW LEVEL SECURITY;
END $$;
