-- Balances as the HR system computes them (most HR systems export them). Where one exists it is the figure an
-- employee is told; the computed breakdown explains it, and admins see where the two disagree.
CREATE TABLE leave_balances (
    employee_id  text NOT NULL REFERENCES employees ON DELETE CASCADE,
    leave_type   text NOT NULL REFERENCES leave_types,
    year         integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),  -- the calendar year the leave year starts in
    balance      numeric(7, 2) NOT NULL CHECK (balance BETWEEN -1000 AND 1000),  -- may be negative (borrowed)
    as_of        date NOT NULL,
    PRIMARY KEY (employee_id, leave_type, year)
);

GRANT SELECT ON leave_balances TO hrbot_records;
ALTER TABLE leave_balances ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON leave_balances FOR SELECT TO hrbot_records
    USING (employee_id = current_setting('hrbot.employee_id', true));
