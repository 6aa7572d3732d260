-- Employee records: profile, leave entitlements, leave history, public holidays.
-- Personal tables are protected by row-level security: the answer path reads them as the non-superuser role
-- hrbot_records with the asker's employee id set for the transaction (hrbot.employee_id), so even a query
-- without a WHERE clause sees only the asker's rows.

CREATE TABLE employees (
    employee_id      text PRIMARY KEY,
    slack_user_id    text UNIQUE,
    email            text NOT NULL UNIQUE,
    name             text NOT NULL,
    country          text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    department       text,
    employment_type  text NOT NULL DEFAULT 'permanent'
                     CHECK (employment_type IN ('permanent', 'fixed_term', 'contractor')),
    fte              numeric(4, 3) NOT NULL DEFAULT 1 CHECK (fte > 0 AND fte <= 1),
    hire_date        date NOT NULL,
    end_date         date CHECK (end_date IS NULL OR end_date >= hire_date),
    manager_id       text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX employees_email_lower ON employees (lower(email));

CREATE TABLE leave_types (
    leave_type  text PRIMARY KEY,
    label       text NOT NULL
);
INSERT INTO leave_types VALUES
    ('annual', 'annual leave'), ('sick', 'sick leave'), ('volunteering', 'volunteering days'),
    ('compassionate', 'compassionate leave'), ('parental', 'parental leave'), ('unpaid', 'unpaid leave'),
    ('toil', 'time off in lieu');

CREATE TABLE leave_entitlements (
    employee_id   text NOT NULL REFERENCES employees ON DELETE CASCADE,
    leave_type    text NOT NULL REFERENCES leave_types,
    year          integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    base_days     numeric(6, 2) CHECK (base_days >= 0),      -- full-time entitlement before pro-rata; NULL: policy
    carried_over  numeric(6, 2) NOT NULL DEFAULT 0 CHECK (carried_over >= 0),
    PRIMARY KEY (employee_id, leave_type, year)
);

CREATE TABLE leave_records (
    request_id   text PRIMARY KEY,
    employee_id  text NOT NULL REFERENCES employees ON DELETE CASCADE,
    leave_type   text NOT NULL REFERENCES leave_types,
    start_date   date NOT NULL,
    end_date     date NOT NULL CHECK (end_date >= start_date),
    days         numeric(6, 2) NOT NULL CHECK (days > 0),
    status       text NOT NULL CHECK (status IN ('approved', 'pending', 'cancelled', 'rejected'))
);
CREATE INDEX leave_records_employee ON leave_records (employee_id, start_date);

CREATE TABLE public_holidays (
    country  text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    day      date NOT NULL,
    name     text NOT NULL,
    PRIMARY KEY (country, day)
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hrbot_records') THEN
        CREATE ROLE hrbot_records NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO hrbot_records;
GRANT SELECT ON employees, leave_entitlements, leave_records, leave_types, public_holidays TO hrbot_records;

ALTER TABLE employees ENABLE ROW LEVEL SECURITY;
ALTER TABLE leave_entitlements ENABLE ROW LEVEL SECURITY;
ALTER TABLE leave_records ENABLE ROW LEVEL SECURITY;
-- The owning role (migrations, CSV import) is not bound; every other role sees only what a policy grants.

CREATE POLICY own_row ON employees FOR SELECT TO hrbot_records
    USING (employee_id = current_setting('hrbot.employee_id', true));
CREATE POLICY own_rows ON leave_entitlements FOR SELECT TO hrbot_records
    USING (employee_id = current_setting('hrbot.employee_id', true));
CREATE POLICY own_rows ON leave_records FOR SELECT TO hrbot_records
    USING (employee_id = current_setting('hrbot.employee_id', true));

-- Resolving who is asking happens before the asker's id is known: these two functions return only the
-- employee id of an exact match, never a row, and are the only way around the policies.
CREATE FUNCTION hrbot_employee_for_slack_user(p_slack_user_id text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
$$ SELECT employee_id FROM employees WHERE slack_user_id = p_slack_user_id $$;
CREATE FUNCTION hrbot_employee_for_email(p_email text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
$$ SELECT employee_id FROM employees WHERE lower(email) = lower(p_email) LIMIT 1 $$;
REVOKE ALL ON FUNCTION hrbot_employee_for_slack_user(text), hrbot_employee_for_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hrbot_employee_for_slack_user(text), hrbot_employee_for_email(text) TO hrbot_records;
