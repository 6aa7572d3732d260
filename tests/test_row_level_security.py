"""Row-level security: the answer path reads personal tables as hrbot_records, bound to one employee."""
import psycopg
import pytest

from knowledge.people.imports import import_csv

from knowledge.people.records import RecordsReader
from tests.test_records_import import EMPLOYEES, LEAVE


@pytest.fixture
def two_employees(db):
    import_csv(db, EMPLOYEES.encode())
    import_csv(db, LEAVE.encode())
    return RecordsReader(db)


def test_a_query_without_where_sees_only_the_askers_rows(two_employees):
    reader = two_employees
    with reader._as_records_role() as conn:
        reader.bind(conn, "E902")
        assert conn.execute("SELECT employee_id, name FROM employees").fetchall() == [("E902", "Bruno Kraus")]
        assert conn.execute("SELECT request_id FROM leave_records").fetchall() == [("R2",)]
    with reader._as_records_role() as conn:  # a new transaction: the binding is gone
        assert conn.execute("SELECT count(*) FROM employees").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM leave_records").fetchone()[0] == 0


def test_the_answer_path_is_not_the_superuser(two_employees, db):
    with db.connection() as conn:
        admin = conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    with two_employees._as_records_role() as conn:
        reader = conn.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                              "WHERE rolname = current_user").fetchone()
    assert admin[1] is True                       # the embedded server's connection is a superuser...
    assert reader == ("hrbot_records", False, False)  # ...but records are read as a role bound by RLS


def test_the_records_role_cannot_write_or_rebind_to_see_more(two_employees):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with two_employees._as_records_role() as conn:
            conn.execute("UPDATE leave_records SET days = 1")
    with two_employees._as_records_role() as conn:
        two_employees.bind(conn, "E901' OR '1'='1")  # a value, never SQL
        assert conn.execute("SELECT count(*) FROM employees").fetchone()[0] == 0


def test_load_returns_one_persons_records(two_employees):
    records = two_employees.load("E901")
    assert records.employee.name == "Ada Lovelace"
    assert [r.request_id for r in records.leave] == ["R1"]
    assert two_employees.load("E000") is None


def test_resolve_by_slack_id_then_email(two_employees):
    assert two_employees.resolve("U0AAA") == "E901"
    assert two_employees.resolve("U0NOPE", "Bruno@X.example") == "E902"
    assert two_employees.resolve("U0NOPE", "nobody@x.example") is None
    assert two_employees.resolve(None) is None


# --- The runtime role: owns nothing, and no query shows it another employee's rows ------------------------------

@pytest.fixture(scope="module")
def split(pg_server):
    """A database opened the product's way: the runtime role hrbot_app and the owner."""
    from tests.conftest import split_database

    db = split_database(pg_server, "hrbot_least_privilege")
    import_csv(db, EMPLOYEES.encode())
    import_csv(db, LEAVE.encode())
    with db.owner.connection() as conn:
        conn.execute("ANALYZE employees, leave_records")  # so pg_stats would have something to leak
    yield db
    db.close()


def test_the_runtime_role_owns_nothing_and_bypasses_nothing(split):
    from knowledge.database.roles import role_facts

    with split.connection() as conn:
        facts = role_facts(conn)
    assert facts == {"role": "hrbot_app", "superuser": False, "bypass_rls": False, "create_role": False, "owns": 0}
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with split.connection() as conn:
            conn.execute("CREATE TABLE stolen (x text)")
    with split.owner.connection() as conn:
        forced = conn.execute("SELECT relname FROM pg_class WHERE relforcerowsecurity ORDER BY relname").fetchall()
    assert [r[0] for r in forced] == ["employees", "leave_balances", "leave_entitlements", "leave_records",
                                      "reminder_optins"]


def test_the_app_reads_the_askers_records_as_the_runtime_role(split):
    records = RecordsReader(split).load("E902")
    assert records.employee.name == "Bruno Kraus"
    assert [r.request_id for r in records.leave] == ["R2"]
    assert RecordsReader(split).resolve("U0AAA") == "E901"


PERSONAL = ("employees", "leave_records", "leave_entitlements", "leave_balances")


def _visible(conn) -> dict:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in PERSONAL}  # literals


NOTHING = dict.fromkeys(PERSONAL, 0)

ATTACKS = {
    "no binding": [],
    "set_config alone": ["SELECT set_config('hrbot.employee_id', 'E902', false)"],
    "set_config with a made-up proof": [
        "SELECT set_config('hrbot.employee_id', 'E902', false)",
        "SELECT set_config('hrbot.binding', extract(epoch from now())::bigint || ':' || repeat('0', 64), false)"],
    "SET of the settings": ["SET hrbot.employee_id = 'E902'", "SET hrbot.binding = '1:abc'"],
    "RESET ROLE": ["RESET ROLE", "SELECT set_config('hrbot.employee_id', 'E902', false)"],
    "SET ROLE to the records role": ["SET ROLE hrbot_records", "SELECT set_config('hrbot.employee_id', 'E902', false)"],
    "row_security off": ["SET row_security = off"],
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_no_query_shows_the_runtime_role_any_personal_row(split, attack):
    with split.connection() as conn:
        try:
            for statement in ATTACKS[attack]:
                conn.execute(statement)
            assert _visible(conn) == NOTHING
        except psycopg.errors.InsufficientPrivilege:
            pass  # refused outright (row_security = off: "query would be affected by row-level security")


def test_a_real_proof_cannot_be_moved_to_another_employee_another_connection_or_later(split):
    reader = RecordsReader(split)
    key = split.binding_key
    with split.connection() as conn:
        reader.bind(conn, "E901")
        proof = conn.execute("SELECT current_setting('hrbot.binding')").fetchone()[0]
        assert _visible(conn)["employees"] == 1
        # The attacker inside the asker's own transaction sees the asker's rows only, whatever it asks for.
        assert conn.execute("SELECT employee_id FROM employees WHERE employee_id = 'E902'").fetchall() == []
        conn.execute("SELECT set_config('hrbot.employee_id', 'E902', true)")  # keep E901's proof, name E902
        assert _visible(conn) == NOTHING
    with psycopg.connect(split.url) as other:  # the same proof replayed on another backend
        assert other.info.backend_pid != conn.info.backend_pid
        other.execute("SELECT set_config('hrbot.employee_id', 'E901', true)")
        other.execute("SELECT set_config('hrbot.binding', %s, true)", [proof])
        assert _visible(other) == NOTHING
    with split.connection() as conn:
        stale = key.proof("E901", conn.info.backend_pid, issued=int(proof.split(":")[0]) - 600)
        conn.execute("SELECT set_config('hrbot.employee_id', 'E901', true)")
        conn.execute("SELECT set_config('hrbot.binding', %s, true)", [stale])
        assert _visible(conn) == NOTHING


def test_the_runtime_role_cannot_read_the_key_or_switch_security_off(split):
    for statement in ("SELECT * FROM hrbot_secrets", "ALTER TABLE employees DISABLE ROW LEVEL SECURITY",
                      "ALTER TABLE employees NO FORCE ROW LEVEL SECURITY", "DROP POLICY own_row ON employees",
                      "SET ROLE postgres", "UPDATE employees SET name = 'x'", "DELETE FROM leave_records",
                      "CREATE POLICY mine ON employees USING (true)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with split.connection() as conn:
                conn.execute(statement)


def test_statistics_and_catalogs_leak_no_personal_value(split):
    with split.connection() as conn:
        leaked = conn.execute("SELECT tablename, attname FROM pg_stats WHERE tablename = ANY(%s)",
                              [list(PERSONAL)]).fetchall()
        assert leaked == []


def test_the_binding_proof_is_rfc_2104_hmac(split):
    from knowledge.database.roles import pads, verify_pads

    inner, outer = pads(b"k" * 32)
    assert verify_pads(b"k" * 32, b"E901:123:1700000000", inner, outer)
    long_inner, long_outer = pads(b"k" * 100)  # keys longer than a block are hashed first
    assert verify_pads(b"k" * 100, b"x", long_inner, long_outer)


# --- The team view (migration 0024): a manager's direct reports through hrbot_team_leave(), nothing else ----------

TEAM = "SELECT employee_id, request_id FROM hrbot_team_leave('2026-01-01', '2026-12-31', 'attacker')"


def test_a_managers_binding_reads_their_report_through_the_function_and_nothing_more(split):
    reader = RecordsReader(split)
    with reader.bound("E901") as conn:  # E901 manages E902
        assert conn.execute(TEAM).fetchall() == [("E902", "R2")]
        # the manager's own transaction is not widened: the tables still show the manager's rows only
        assert conn.execute("SELECT employee_id FROM employees").fetchall() == [("E901",)]
        assert conn.execute("SELECT request_id FROM leave_records").fetchall() == [("R1",)]
        assert conn.execute("SELECT * FROM hrbot_team_leave('2026-01-01', '2027-06-01', 'x')").fetchall() == []
    with reader.bound("E902") as conn:  # a report sees no team: not their manager, not themselves
        assert conn.execute(TEAM).fetchall() == []


def test_the_audit_row_names_the_bound_manager_whatever_the_caller_claims(split):
    with RecordsReader(split).bound("E901") as conn:
        conn.execute("SELECT * FROM hrbot_team_leave('2026-01-01', '2026-12-31', 'U0AAA', "
                     "'{\"manager\": \"E999\"}'::jsonb)").fetchall()
    with split.owner.connection() as conn:
        manager = conn.execute("SELECT details->>'manager' FROM audit_log WHERE action = 'read_team_leave' "
                               "ORDER BY audit_id DESC LIMIT 1").fetchone()[0]
    assert manager == "E901"


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_no_forged_binding_reads_a_team_through_the_function(split, attack):
    with split.connection() as conn:
        try:
            for statement in ATTACKS[attack]:
                conn.execute(statement)
            conn.execute("SELECT set_config('hrbot.employee_id', 'E901', false)")  # name the manager
            assert conn.execute(TEAM).fetchall() == []
        except psycopg.errors.InsufficientPrivilege:
            pass


def test_a_reports_real_proof_moved_to_their_manager_reads_no_team(split):
    reader = RecordsReader(split)
    with reader.bound("E902") as conn:
        conn.execute("SELECT set_config('hrbot.employee_id', 'E901', true)")  # keep E902's proof, name E901
        assert conn.execute(TEAM).fetchall() == []
