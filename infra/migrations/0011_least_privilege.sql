-- Least privilege (issue 12). Personal rows are readable only by a transaction bound to their employee with a
-- proof the application signs (knowledge/database/roles.py), and the owner is bound by the policies too.
--
-- Before: the policies trusted the setting hrbot.employee_id, which any role can set with set_config(), so a
-- query injected anywhere could read anyone's records by naming them. Now the setting must come with
-- hrbot.binding = '<issued epoch>:<HMAC-SHA256(key, employee_id:backend_pid:issued)>', checked here with a key
-- that only the owner can read. A proof is valid for one backend and five minutes (the transaction that made
-- it, in practice: the setting is transaction-local).

CREATE TABLE hrbot_secrets (
    name        text PRIMARY KEY,
    inner_key   bytea NOT NULL CHECK (length(inner_key) = 64),  -- HMAC key XOR ipad (RFC 2104)
    outer_key   bytea NOT NULL CHECK (length(outer_key) = 64),  -- HMAC key XOR opad
    created_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON hrbot_secrets FROM PUBLIC;

-- The employee this transaction is bound to, or NULL. Runs as the owner (it reads the key); returns only the id
-- the caller already named, so it leaks nothing but whether the proof holds.
CREATE FUNCTION hrbot_asker() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
$$
    WITH claim AS (
        SELECT current_setting('hrbot.employee_id', true) AS employee_id,
               split_part(coalesce(current_setting('hrbot.binding', true), ''), ':', 1) AS issued,
               split_part(coalesce(current_setting('hrbot.binding', true), ''), ':', 2) AS proof
    )
    SELECT c.employee_id
    FROM claim c JOIN public.hrbot_secrets s ON s.name = 'records'
    WHERE coalesce(c.employee_id, '') <> ''
      AND c.issued ~ '^[0-9]{1,12}$'
      AND abs(extract(epoch FROM now()) - c.issued::bigint) <= 300
      AND c.proof = encode(sha256(s.outer_key || sha256(s.inner_key ||
              convert_to(c.employee_id || ':' || pg_backend_pid() || ':' || c.issued, 'UTF8'))), 'hex')
$$;
REVOKE ALL ON FUNCTION hrbot_asker() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hrbot_asker() TO hrbot_records;

-- (SELECT hrbot_asker()): evaluated once per query (an InitPlan), not once per row.
DROP POLICY own_row ON employees;
DROP POLICY own_rows ON leave_entitlements;
DROP POLICY own_rows ON leave_records;
DROP POLICY own_rows ON leave_balances;
CREATE POLICY own_row ON employees FOR SELECT TO hrbot_records USING (employee_id = (SELECT hrbot_asker()));
CREATE POLICY own_rows ON leave_entitlements FOR SELECT TO hrbot_records
    USING (employee_id = (SELECT hrbot_asker()));
CREATE POLICY own_rows ON leave_records FOR SELECT TO hrbot_records USING (employee_id = (SELECT hrbot_asker()));
CREATE POLICY own_rows ON leave_balances FOR SELECT TO hrbot_records USING (employee_id = (SELECT hrbot_asker()));

-- The owner (whoever runs the migrations: imports, privacy commands) keeps full access through a policy of its
-- own; FORCE makes every other path, the owner's included, go through the policies. A superuser (the embedded
-- server's) bypasses row-level security in any case.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['employees', 'leave_entitlements', 'leave_records', 'leave_balances'] LOOP
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true) WITH CHECK (true)', t, current_user);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
