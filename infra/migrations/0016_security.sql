-- Security that holds against SQL run with the runtime role (issue 21). docs/security.md has the threat model.
--
-- 1. Every SECURITY DEFINER function pins search_path = pg_catalog, public, pg_temp and names its relations with
--    their schema. Before, `SET search_path = public` left pg_temp searched FIRST for relations (PostgreSQL puts
--    pg_temp in front when it is not listed), so a temporary view named `employees`, planted by the runtime role,
--    ran with the owner's rights inside hrbot_employee_for_slack_user(): every employee's rows and the binding key
--    could be read. With pg_temp listed last and every relation schema-qualified, nothing the caller creates is
--    ever looked up.
-- 2. The binding key is rotated (it may have been read through 1): the old one is deleted here and a new one is
--    made (or HRBOT_BINDING_KEY stored) right after the migrations, in the same `hrbot db upgrade`.
-- 3. An email no longer finds an employee for any Slack account: hrbot_bind_slack_user() binds a Slack account to
--    the employee with that work email only while the employee has no Slack id yet, only for a request the
--    application signed (a leaked runtime credential cannot bind itself to anyone), and audits it. Once bound,
--    the Slack id alone identifies the person; a look-alike account with the same email (any letter case) gets
--    nothing.
-- 4. Events kept for redelivery carry a seal (an HMAC the application makes with a key the runtime role cannot
--    read): a row forged or altered with SQL is never answered.

CREATE OR REPLACE FUNCTION hrbot_employee_for_slack_user(p_slack_user_id text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS
$$ SELECT e.employee_id FROM public.employees e WHERE e.slack_user_id = p_slack_user_id $$;

DROP FUNCTION IF EXISTS hrbot_employee_for_email(text);

CREATE OR REPLACE FUNCTION hrbot_asker() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS
$$
    WITH claim AS (
        SELECT pg_catalog.current_setting('hrbot.employee_id', true) AS employee_id,
               pg_catalog.split_part(coalesce(pg_catalog.current_setting('hrbot.binding', true), ''),
                                     ':', 1) AS issued,
               pg_catalog.split_part(coalesce(pg_catalog.current_setting('hrbot.binding', true), ''),
                                     ':', 2) AS proof
    )
    SELECT c.employee_id
    FROM claim c JOIN public.hrbot_secrets s ON s.name = 'records'
    WHERE coalesce(c.employee_id, '') <> ''
      AND c.issued ~ '^[0-9]{1,12}$'
      AND pg_catalog.abs(pg_catalog.date_part('epoch', pg_catalog.now()) - c.issued::bigint) <= 300
      AND c.proof = pg_catalog.encode(pg_catalog.sha256(s.outer_key || pg_catalog.sha256(s.inner_key ||
              pg_catalog.convert_to(c.employee_id || ':' || pg_catalog.pg_backend_pid() || ':' || c.issued,
                                    'UTF8'))), 'hex')
$$;

-- p_proof = HMAC(subkey 'slack-binding', slack_user_id || '\n' || email || '\n' || issued), made by the
-- application (knowledge/people/records.py); the subkey's pads are stored as hrbot_secrets 'slack-binding'.
CREATE FUNCTION hrbot_bind_slack_user(p_slack_user_id text, p_email text, p_issued bigint, p_proof text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS
$$
DECLARE
    v_key     public.hrbot_secrets%ROWTYPE;
    v_id      text;
    v_stored  text;
BEGIN
    IF coalesce(p_slack_user_id, '') = '' OR coalesce(p_email, '') = ''
       OR p_issued IS NULL OR pg_catalog.abs(pg_catalog.date_part('epoch', pg_catalog.now()) - p_issued) > 300 THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_key FROM public.hrbot_secrets WHERE name = 'slack-binding';
    IF NOT FOUND OR p_proof IS DISTINCT FROM pg_catalog.encode(pg_catalog.sha256(v_key.outer_key ||
            pg_catalog.sha256(v_key.inner_key || pg_catalog.convert_to(
                p_slack_user_id || E'\n' || p_email || E'\n' || p_issued::text, 'UTF8'))), 'hex') THEN
        RETURN NULL;
    END IF;
    -- Already bound: the Slack id wins, whatever the email says.
    SELECT e.employee_id INTO v_id FROM public.employees e WHERE e.slack_user_id = p_slack_user_id;
    IF FOUND THEN
        RETURN v_id;
    END IF;
    -- Only an employee nobody is bound to yet; emails are unique whatever their case (0008), so this is one row.
    SELECT e.employee_id, e.email INTO v_id, v_stored FROM public.employees e
    WHERE pg_catalog.lower(e.email) = pg_catalog.lower(pg_catalog.btrim(p_email)) AND e.slack_user_id IS NULL
      AND (e.end_date IS NULL OR e.end_date >= CURRENT_DATE)
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE public.employees SET slack_user_id = p_slack_user_id
    WHERE employee_id = v_id AND slack_user_id IS NULL;
    INSERT INTO public.audit_log (actor, action, target, details)
    VALUES (p_slack_user_id, 'slack_bind', v_id,
            pg_catalog.jsonb_build_object('by', 'email', 'same_case', v_stored = pg_catalog.btrim(p_email)));
    RETURN v_id;
END
$$;
REVOKE ALL ON FUNCTION hrbot_employee_for_slack_user(text), hrbot_asker(),
    hrbot_bind_slack_user(text, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hrbot_employee_for_slack_user(text), hrbot_asker(),
    hrbot_bind_slack_user(text, text, bigint, text) TO hrbot_records;

DELETE FROM hrbot_secrets;

ALTER TABLE processed_events ADD COLUMN seal bytea;
