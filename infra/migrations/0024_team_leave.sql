-- A manager's view of their team (issue 26, item 4): their DIRECT reports' approved and pending leave for a period,
-- and nobody else's, decided in the database from the manager's binding.
--
-- A function, not a wider policy: a policy on employees / leave_records letting a manager's transaction see rows
-- whose manager_id = hrbot_asker() would apply to every transaction bound to that manager, so the manager's own
-- answers (which read `SELECT ... FROM employees` and `FROM leave_records` with no WHERE, the policies deciding)
-- would start to carry their reports' rows, e-mails, hire dates and balances included. A separate role for the
-- team view would avoid that, at the cost of a second role with its own grants and policies. This function
-- returns only what the team view shows (a report's id and name, and their approved or pending leave in the
-- period), only for the employee the binding proves (hrbot_asker(): a forged set_config or proof gives NULL, so
-- nothing), and writes one audit row per report read in the same statement, so no read of a report escapes the
-- audit log. Rows are the reports' whose manager_id is the asker's NOW: someone who moved to another manager is
-- no longer shown, and a report's own reports are not (direct reports only).
--
-- p_actor: who is reading as the application knows them (a Slack id, or the operator of `hrbot ask --as`), for
-- the audit log; p_details: where (app_home, the question's surface). Neither widens what is returned.

CREATE FUNCTION hrbot_team_leave(p_from date, p_to date, p_actor text, p_details jsonb DEFAULT '{}')
    RETURNS TABLE (employee_id text, name text, request_id text, leave_type text, start_date date,
                   end_date date, days numeric, status text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS
$$
DECLARE
    v_manager text := public.hrbot_asker();
BEGIN
    IF v_manager IS NULL OR p_from IS NULL OR p_to IS NULL OR p_to < p_from OR p_to - p_from > 366 THEN
        RETURN;
    END IF;
    INSERT INTO public.audit_log (actor, action, target, details)
    SELECT coalesce(nullif(pg_catalog.btrim(p_actor), ''), v_manager), 'read_team_leave', e.employee_id,
           coalesce(p_details, '{}'::jsonb)
               || pg_catalog.jsonb_build_object('manager', v_manager, 'from', p_from, 'to', p_to)
    FROM public.employees e
    WHERE e.manager_id = v_manager AND e.employee_id <> v_manager
      AND (e.end_date IS NULL OR e.end_date >= p_from) AND e.hire_date <= p_to;
    RETURN QUERY
    SELECT e.employee_id, e.name, l.request_id, l.leave_type, l.start_date, l.end_date, l.days, l.status
    FROM public.employees e
    LEFT JOIN public.leave_records l
           ON l.employee_id = e.employee_id AND l.status IN ('approved', 'pending')
          AND l.start_date <= p_to AND l.end_date >= p_from
    WHERE e.manager_id = v_manager AND e.employee_id <> v_manager
      AND (e.end_date IS NULL OR e.end_date >= p_from) AND e.hire_date <= p_to
    ORDER BY e.name, e.employee_id, l.start_date, l.request_id;
END
$$;
REVOKE ALL ON FUNCTION hrbot_team_leave(date, date, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hrbot_team_leave(date, date, text, jsonb) TO hrbot_records;
