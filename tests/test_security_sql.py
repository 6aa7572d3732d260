"""Attacks with the product's own runtime database role (what a leaked bot credential or an SQL injection gives),
and with look-alike Slack accounts (issue 21). Each test runs the attack as the attacker would and checks that
it yields nothing; docs/security.md maps each to the threat it covers."""
import json
import time
import uuid

import psycopg
import pytest

from knowledge.answering.events import EventLedger
from knowledge.database.roles import BindingKey, key_matches
from knowledge.people.imports import import_csv
from knowledge.people.records import RecordsReader

EMPLOYEES = """employee_id,slack_user_id,email,name,country,department,employment_type,fte,hire_date,end_date,manager_id
E901,U0AAA,ada@x.example,Ada Lovelace,GB,Engineering,permanent,1.0,2020-01-06,,
E902,U0BBB,bruno@x.example,Bruno Kraus,DE,Sales,permanent,0.8,2024-03-01,,E901
E903,,carla@x.example,Carla Diaz,GB,Sales,permanent,1.0,2023-05-01,,E901
"""
LEAVE = """request_id,employee_id,leave_type,start_date,end_date,days,status
R1,E901,annual,2026-02-02,2026-02-06,5,approved
R2,E902,annual,2026-07-06,2026-07-07,2,pending
"""
PERSONAL = ("employees", "leave_records", "leave_entitlements", "leave_balances")


@pytest.fixture(scope="module")
def split(pg_server):
    from tests.conftest import split_database

    db = split_database(pg_server, "hrbot_security")
    import_csv(db, EMPLOYEES.encode())
    import_csv(db, LEAVE.encode())
    yield db
    db.close()


@pytest.fixture
def fresh(split):
    """The split database with its employees as imported (a test may bind someone)."""
    with split.owner.connection() as conn:
        conn.execute("UPDATE employees SET slack_user_id = NULL WHERE employee_id = 'E903'")
        conn.execute("DELETE FROM processed_events")
    return split


def _as_runtime(db):
    return psycopg.connect(db.url, autocommit=True)


# --- 1. SECURITY DEFINER functions never look up what the caller created -------------------------------------

PLANTS = {
    "employees": "CREATE TEMP VIEW employees WITH (security_invoker = true) AS "
                 "SELECT (SELECT string_agg(employee_id || ' ' || email, ',') FROM public.employees) AS employee_id, "
                 "'UPWN'::text AS slack_user_id, 'pwn@x.example'::text AS email, NULL::date AS end_date",
    "hrbot_secrets": "CREATE TEMP TABLE hrbot_secrets (name text, inner_key bytea, outer_key bytea, "
                     "created_at timestamptz)",
}


def test_every_security_definer_function_pins_its_search_path(split):
    with _as_runtime(split) as conn:
        rows = conn.execute("""
            SELECT p.proname, p.proconfig FROM pg_proc p
            WHERE p.prosecdef AND p.pronamespace = 'public'::regnamespace ORDER BY 1""").fetchall()
    assert {name for name, _ in rows} >= {"hrbot_asker", "hrbot_employee_for_slack_user", "hrbot_bind_slack_user"}
    for name, config in rows:
        assert "search_path=pg_catalog, public, pg_temp" in (config or []), (name, config)


def test_a_temporary_view_planted_by_the_runtime_role_is_never_read_as_the_owner(split):
    with _as_runtime(split) as conn:
        conn.execute(PLANTS["employees"])
        conn.execute("SET ROLE hrbot_records")
        assert conn.execute("SELECT hrbot_employee_for_slack_user('UPWN')").fetchone()[0] is None
        assert conn.execute("SELECT hrbot_employee_for_slack_user('U0AAA')").fetchone()[0] == "E901"
        conn.execute("SELECT set_config('hrbot.employee_id', 'x', false)")
        assert conn.execute("SELECT hrbot_asker()").fetchone()[0] is None
        bound = conn.execute("SELECT hrbot_bind_slack_user('UPWN', 'pwn@x.example', "
                             "extract(epoch from now())::bigint, repeat('0', 64))").fetchone()[0]
        assert bound is None


def test_a_planted_secrets_table_gives_no_binding(split):
    """A temporary hrbot_secrets with a key the attacker knows must not make hrbot_asker() accept their proof."""
    from knowledge.database.roles import pads

    mine = BindingKey(*pads(b"attacker-key" * 4))
    with _as_runtime(split) as conn:
        conn.execute(PLANTS["hrbot_secrets"])
        inner, outer = mine.pads
        conn.execute("INSERT INTO pg_temp.hrbot_secrets VALUES ('records', %s, %s, now())", [inner, outer])
        conn.execute("BEGIN")
        conn.execute("SET LOCAL ROLE hrbot_records")
        conn.execute("SELECT set_config('hrbot.employee_id', 'E902', true), set_config('hrbot.binding', %s, true)",
                     [mine.proof("E902", conn.info.backend_pid)])
        assert conn.execute("SELECT count(*) FROM employees").fetchone()[0] == 0
        conn.execute("ROLLBACK")


# --- 2. The runtime role has only what answering needs -------------------------------------------------------

REFUSED = [
    "INSERT INTO admins (slack_user_id, added_by) VALUES ('UEVIL', 'UEVIL')",
    "DELETE FROM admins",
    "UPDATE audit_log SET actor = 'nobody'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "SELECT answer FROM questions",
    "SELECT * FROM questions",
    "UPDATE questions SET question = 'x'",
    "DELETE FROM questions",
    "SELECT * FROM hrbot_secrets",
    "INSERT INTO sources (name, kind, settings, every_seconds) VALUES ('x', 'web', '{}', 60)",
    "UPDATE sources SET settings = '{}'",
    "DELETE FROM source_items",
    "UPDATE documents SET title = 'x'",
    "DELETE FROM chunks",
    "INSERT INTO lexicon (word) VALUES ('x')",
    "UPDATE employees SET slack_user_id = 'UEVIL'",
    "SELECT * FROM erased_people",
    "CREATE TABLE public.stolen (x text)",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_runtime_role_is_refused(split, statement):
    with _as_runtime(split) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_runtime_role_can_still_do_its_job(split):
    with _as_runtime(split) as conn:
        question_id = conn.execute(
            "INSERT INTO questions (slack_user_id, surface, question, answer, kind, supported, citations, personal) "
            "VALUES ('U0AAA', 'dm', 'q', 'a', 'answer', true, '[]', false) RETURNING question_id").fetchone()[0]
        conn.execute("SELECT question_id, question, supported FROM questions WHERE question_id = %s", [question_id])
        conn.execute("INSERT INTO audit_log (actor, action) VALUES ('U0AAA', 'read_records')")
        conn.execute("SELECT count(*) FROM admins").fetchone()
        conn.execute("SELECT count(*) FROM sources").fetchone()


# --- 3. Stored events and queued jobs: forged rows are never acted on ----------------------------------------

def _dm_body(user: str, event_id: str) -> dict:
    return {"type": "event_callback", "event_id": event_id, "team_id": "T0TEST", "api_app_id": "A0APP",
            "event": {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user,
                      "text": "How much annual leave do I have?", "ts": "1700000000.000100"}}


def test_an_event_row_forged_with_sql_is_never_redelivered(fresh):
    event_id = f"EvFORGE{uuid.uuid4().hex[:8]}"
    with _as_runtime(fresh) as conn:  # the attacker: Ada's question, to be answered into Bruno's DM
        body = _dm_body("U0AAA", event_id)
        body["event"]["channel"] = "DU0BBB"
        conn.execute("INSERT INTO processed_events (event_id, state, lease_until, claim_token, body) "
                     "VALUES (%s, 'answering', now() - interval '1 minute', 'x', %s)", [event_id, json.dumps(body)])
    assert EventLedger(fresh).take_due() == []
    with fresh.connection() as conn:
        assert conn.execute("SELECT state, body FROM processed_events WHERE event_id = %s",
                            [event_id]).fetchone() == ("abandoned", None)


def test_an_event_altered_after_its_claim_is_never_redelivered(fresh):
    event_id = f"EvALTER{uuid.uuid4().hex[:8]}"
    ledger = EventLedger(fresh)
    ledger.claim(event_id, _dm_body("U0AAA", event_id))
    ledger.hand_back()
    with _as_runtime(fresh) as conn:  # the seal is kept, the channel is changed
        conn.execute("UPDATE processed_events SET body = jsonb_set(body, '{event,channel}', '\"DU0BBB\"') "
                     "WHERE event_id = %s", [event_id])
    assert EventLedger(fresh).take_due() == []


def test_an_answered_event_put_back_with_its_seal_is_not_answered_again(fresh):
    """The outside review's F2: the body and seal, saved while the event was in flight, written back after the
    answer; the bot answered again (and audited another read) every time."""
    event_id = f"EvREPLAY{uuid.uuid4().hex[:8]}"
    ledger = EventLedger(fresh)
    claim = ledger.claim(event_id, _dm_body("U0AAA", event_id))
    with _as_runtime(fresh) as conn:
        body, sealed = conn.execute("SELECT body, seal FROM processed_events WHERE event_id = %s",
                                    [event_id]).fetchone()
    ledger.finished(claim)
    with _as_runtime(fresh) as conn:
        conn.execute("UPDATE processed_events SET state = 'answering', body = %s, seal = %s, attempts = 0, "
                     "lease_until = now() - interval '1 minute' WHERE event_id = %s",
                     [json.dumps(body), sealed, event_id])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM spent_seals")  # a seal cannot be un-spent
    assert EventLedger(fresh).take_due() == []


def test_an_event_too_old_to_help_is_not_answered_again(fresh):
    event_id = f"EvOLD{uuid.uuid4().hex[:8]}"
    ledger = EventLedger(fresh)
    ledger.claim(event_id, {**_dm_body("U0AAA", event_id), "event_time": int(time.time()) - 2 * 86400})
    ledger.hand_back()
    assert EventLedger(fresh).take_due() == []


def test_a_sealed_event_is_redelivered_as_it_came(fresh):
    event_id = f"EvSEAL{uuid.uuid4().hex[:8]}"
    ledger = EventLedger(fresh)
    ledger.claim(event_id, _dm_body("U0AAA", event_id))
    ledger.hand_back()
    [due] = EventLedger(fresh).take_due()
    assert due.body == _dm_body("U0AAA", event_id)


def test_hand_back_ends_only_the_leases_this_process_still_holds(fresh):
    event_id = f"EvHAND{uuid.uuid4().hex[:8]}"
    first = EventLedger(fresh)
    claim = first.claim(event_id, _dm_body("U0AAA", event_id))
    with fresh.connection() as conn:  # its lease ran out (the process was stuck) ...
        conn.execute("UPDATE processed_events SET lease_until = now() - interval '1 second' WHERE event_id = %s",
                     [event_id])
    other = EventLedger(fresh)
    [due] = other.take_due()  # ... and another replica took it
    assert due.claim.token != claim.token
    assert first.hand_back() == 0  # the first process stopping does not expire the new lease
    assert other.take_due() == [] and EventLedger(fresh).take_due() == []


def test_a_job_seal_binds_every_argument_and_the_key(fresh):
    from bot.jobs import job_seal

    key = fresh.binding_key
    args = {"file_id": "F1", "user": "U0ADMIN", "channel": "C1", "thread_ts": "1.2"}
    assert job_seal(key, **args) != job_seal(key, **{**args, "user": "UEVIL"})
    assert job_seal(key, **args) != job_seal(BindingKey.from_secret("x" * 40), **args)


# --- 4. Identity: a bound Slack id wins; email binds only the unbound, once, with the application's proof -------

def test_a_look_alike_account_with_the_same_email_in_another_case_gets_nothing(fresh):
    reader = RecordsReader(fresh)
    assert reader.resolve("U0AAA", slack_email=lambda: "ada@x.example") == "E901"
    assert reader.resolve("U0EVIL", slack_email=lambda: "ADA@x.example") is None
    assert reader.resolve("U0EVIL", slack_email=lambda: "ada@x.example") is None


def test_an_unbound_employee_is_bound_once_by_email_and_audited(fresh):
    reader = RecordsReader(fresh)
    assert reader.resolve("U0CARLA", slack_email=lambda: "Carla@X.example") == "E903"
    assert reader.resolve("U0CARLA") == "E903"  # the Slack id alone from now on
    assert reader.resolve("U0SECOND", slack_email=lambda: "carla@x.example") is None
    with fresh.owner.connection() as conn:
        assert conn.execute("SELECT slack_user_id FROM employees WHERE employee_id = 'E903'").fetchone()[0] == "U0CARLA"
        actor, details = conn.execute("SELECT actor, details FROM audit_log WHERE action = 'slack_bind' "
                                      "AND target = 'E903' ORDER BY audit_id DESC LIMIT 1").fetchone()
    assert actor == "U0CARLA" and details == {"by": "email", "same_case": False}


def test_the_runtime_role_cannot_bind_itself_without_the_applications_proof(fresh):
    with _as_runtime(fresh) as conn:
        conn.execute("SET ROLE hrbot_records")
        for proof in ("0" * 64, "", None):
            row = conn.execute("SELECT hrbot_bind_slack_user('UEVIL', 'carla@x.example', "
                               "extract(epoch from now())::bigint, %s)", [proof]).fetchone()
            assert row[0] is None
    with fresh.owner.connection() as conn:
        assert conn.execute("SELECT slack_user_id FROM employees WHERE employee_id = 'E903'").fetchone()[0] is None


def test_an_admin_can_see_and_reset_a_binding(fresh):
    reader = RecordsReader(fresh)
    reader.resolve("U0WRONG", slack_email=lambda: "carla@x.example")
    assert reader.bindings("E903") == [("E903", "Carla Diaz", "carla@x.example", "U0WRONG")]
    assert reader.unbind("E903", "cli:hr") == "U0WRONG"
    assert reader.resolve("U0WRONG") is None
    assert reader.resolve("U0CARLA", slack_email=lambda: "carla@x.example") == "E903"


# --- 5. The binding key: rotated by the migration, given to replicas as a secret --------------------------------

def test_the_key_can_be_given_and_a_replica_with_another_key_is_refused(pg_server):
    from knowledge.database.connection import Database, upgrade, with_user
    from knowledge.database.roles import RUNTIME_ROLE
    from knowledge.errors import ConfigurationError
    from tests.conftest import _fresh_database

    from knowledge.settings import Settings

    owner_url = _fresh_database(pg_server, "hrbot_key_given", RUNTIME_ROLE)
    given = BindingKey.from_secret("k" * 64)
    upgrade(owner_url, RUNTIME_ROLE, given)
    runtime_url = with_user(owner_url, RUNTIME_ROLE)
    settings = Settings.from_env(environ={"DATABASE_URL": runtime_url, "HRBOT_RUNTIME_ONLY": "on",
                                          "HRBOT_BINDING_KEY": "k" * 64}, dotenv_path=None)
    replica = Database.open(settings)  # checks the schema and the key, migrates nothing
    assert replica.owner_access is False
    with pytest.raises(ConfigurationError, match="HRBOT_BINDING_KEY is not the key"):
        Database.open(Settings.from_env(environ={"DATABASE_URL": runtime_url, "HRBOT_RUNTIME_ONLY": "on",
                                                 "HRBOT_BINDING_KEY": "z" * 64}, dotenv_path=None))
    with pytest.raises(ConfigurationError, match="needs HRBOT_BINDING_KEY"):
        Database.open(Settings.from_env(environ={"DATABASE_URL": runtime_url, "HRBOT_RUNTIME_ONLY": "on"},
                                        dotenv_path=None))
    try:
        replica.check_replica()
        with replica.connection() as conn:
            assert key_matches(conn, given)
            assert not key_matches(conn, BindingKey.from_secret("z" * 64))
        replica._binding_key = BindingKey.from_secret("z" * 64)
        with pytest.raises(ConfigurationError, match="HRBOT_BINDING_KEY is not the key"):
            replica.check_replica()
    finally:
        replica.close()


def test_migration_0016_rotates_a_key_that_may_have_been_read(pg_server):
    from knowledge.database.connection import upgrade
    from knowledge.database.roles import RUNTIME_ROLE
    from tests.conftest import _fresh_database

    url = _fresh_database(pg_server, "hrbot_key_rotation", RUNTIME_ROLE)
    with psycopg.connect(url, autocommit=True) as conn:
        old = conn.execute("SELECT inner_key FROM hrbot_secrets WHERE name = 'records'").fetchone()[0]
        conn.execute("DELETE FROM schema_migrations WHERE name = '0016_security.sql'")
        conn.execute("ALTER TABLE processed_events DROP COLUMN seal")
        conn.execute("DROP FUNCTION hrbot_bind_slack_user(text, text, bigint, text)")
        conn.execute("CREATE FUNCTION hrbot_employee_for_email(text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$")
    assert upgrade(url, RUNTIME_ROLE) == ["0016_security.sql"]
    with psycopg.connect(url, autocommit=True) as conn:
        new = conn.execute("SELECT inner_key FROM hrbot_secrets WHERE name = 'records'").fetchone()[0]
    assert new != old


def test_a_runtime_only_replica_refuses_owner_work_kindly(split):
    from knowledge.database.connection import Database, _RefusedOwner
    from knowledge.errors import NotPermitted
    from knowledge.operations.admin import Admins

    replica = Database(split.url, server=split.server)
    replica._binding_key, replica.owner_access, replica.owner = split.binding_key, False, _RefusedOwner()
    try:
        with pytest.raises(NotPermitted, match="runtime database role only"):
            Admins(replica, set()).add("UEVIL", "UEVIL")
        assert RecordsReader(replica).resolve("U0AAA") == "E901"
        assert RecordsReader(replica).load("E901").employee.name == "Ada Lovelace"
    finally:
        replica.close()


# --- The outside review's findings (F3, U1-U3) -------------------------------------------------------------------

def test_session_defaults_planted_on_the_runtime_role_are_removed_and_cannot_make_the_bot_read_only(pg_server):
    """F3: `ALTER ROLE hrbot_app SET default_transaction_read_only = on`, run with the leaked credential, survived
    restarts and upgrades and stopped every write."""
    from knowledge.database.connection import Database, upgrade, with_user
    from knowledge.database.roles import RUNTIME_ROLE, role_settings
    from tests.conftest import _fresh_database

    owner_url = _fresh_database(pg_server, "hrbot_role_settings", RUNTIME_ROLE)
    runtime_url = with_user(owner_url, RUNTIME_ROLE)
    with psycopg.connect(runtime_url, autocommit=True) as attacker:
        attacker.execute(f"ALTER ROLE {RUNTIME_ROLE} SET default_transaction_read_only = on")
        attacker.execute(f"ALTER ROLE {RUNTIME_ROLE} SET statement_timeout = '50ms'")
    db = Database(runtime_url, server=pg_server)
    try:
        with db.connection() as conn:  # the pool's own settings win over the planted read-only default
            conn.execute("INSERT INTO audit_log (actor, action) VALUES ('x', 'probe')")
        with psycopg.connect(owner_url, autocommit=True) as conn:
            assert len(role_settings(conn, RUNTIME_ROLE)) == 2
        upgrade(owner_url, RUNTIME_ROLE)  # the owner (here a superuser) removes them at every upgrade
        with psycopg.connect(owner_url, autocommit=True) as conn:
            assert role_settings(conn, RUNTIME_ROLE) == []
    finally:
        db.close()
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {RUNTIME_ROLE} RESET ALL")


def test_the_runtime_url_alone_says_what_to_set_instead_of_a_traceback(split):
    """U1: DATABASE_URL of the runtime role without HRBOT_RUNTIME_ONLY or the owner's URL."""
    from knowledge.database.connection import Database
    from knowledge.errors import ConfigurationError
    from knowledge.settings import Settings

    with pytest.raises(ConfigurationError, match="HRBOT_OWNER_DATABASE_URL.*HRBOT_RUNTIME_ONLY"):
        Database.open(Settings.from_env(environ={"DATABASE_URL": split.url, "HRBOT_DB_WAIT_SECONDS": "0"},
                                        dotenv_path=None))


def test_an_upgrade_that_rotates_the_key_says_so(pg_server):
    """U2: `hrbot db upgrade` with a new HRBOT_BINDING_KEY printed only "up to date"."""
    from knowledge.database.connection import upgrade
    from knowledge.database.roles import RUNTIME_ROLE
    from tests.conftest import _fresh_database

    url = _fresh_database(pg_server, "hrbot_key_note", RUNTIME_ROLE)
    notes: list[str] = []
    assert upgrade(url, RUNTIME_ROLE, BindingKey.from_secret("n" * 64), notes) == []
    assert notes and "binding key is new" in notes[0]
    again: list[str] = []
    upgrade(url, RUNTIME_ROLE, BindingKey.from_secret("n" * 64), again)
    assert again == []


def test_unbinding_an_unknown_employee_is_an_error(fresh):
    """U3: `hrbot records unbind E999` said "was not bound" and exited 0."""
    from knowledge.errors import NotFound

    with pytest.raises(NotFound, match="No employee has the id 'E999'"):
        RecordsReader(fresh).unbind("E999", "cli:hr")
    assert RecordsReader(fresh).unbind("E903", "cli:hr") is None  # exists, not bound: not an error
