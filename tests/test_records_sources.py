"""Records sources (issue 11 item 4): an HR system's API (a local BambooHR speaking its documented API) and a
read-only SQL query, written with the CSV import's checks, all or nothing, with their changes in the audit log
and their freshness in answers."""
import logging

import psycopg
import pytest

from knowledge.answering.answers import Asker
from knowledge.errors import ConfigurationError
from knowledge.sources.runner import run_source
from knowledge.sources.store import SourceStore
from tests.fakes.bamboohr_api import FakeBambooHR

KEY = "bamboo-test-key-123"


@pytest.fixture
def bamboo(monkeypatch):
    hr = FakeBambooHR(api_key=KEY)
    monkeypatch.setenv("BAMBOO_KEY", KEY)
    hr.hire("101", "Ada", "Lovelace", "ada@x.example", "London", "2020-01-06", customSlackId="U0AAA")
    hr.hire("102", "Bruno", "Kraus", "bruno@x.example", "Berlin office", "2024-03-01", supervisor="101",
            country="Germany")
    hr.hire("103", "Cleo", "Ng", "cleo@x.example", "London", "2019-05-01", status="Inactive",
            terminated="2025-06-30", employment="Contractor")
    hr.time_off("9001", "101", "Vacation", "2026-02-02", "2026-02-06", "5")
    hr.time_off("9002", "102", "Sick", "2026-03-10", "2026-03-10", "8", unit="hours", type_id="79")
    hr.time_off("9003", "101", "Jury Duty", "2026-04-01", "2026-04-01", "1", type_id="80")
    hr.time_off("9004", "102", "Vacation", "2026-08-03", "2026-08-07", "5", status="canceled")
    hr.time_off("9005", "101", "Vacation", "2026-12-24", "2026-12-24", "0", status="requested")
    hr.balance("101", "Vacation", "17.5")
    hr.balance("102", "Vacation", "20")
    hr.balance("102", "Sick", "40", units="hours", type_id="79")
    yield hr
    hr.close()


def bamboo_settings(hr, **more):
    return {"company": "acme", "api_key": "env:BAMBOO_KEY", "base_url": hr.base_url,
            "leave_types": {"Vacation": "annual", "79": "sick"}, "locations": {"Berlin office": "DE"},
            "slack_field": "customSlackId", **more}


def rows(db, sql, *args):
    with db.owner.connection() as conn:
        return conn.execute(sql, args).fetchall()


def test_an_hr_system_sync_maps_people_leave_and_balances_and_reports_what_it_skipped(runtime, store, bamboo):
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    result = run_source(runtime.ingestor, store, source, profile=runtime.profile)
    assert result.status == "ok", result.error
    assert rows(runtime.db, "SELECT employee_id, slack_user_id, country, employment_type, end_date::text, manager_id "
                            "FROM employees ORDER BY 1") == [
        ("101", "U0AAA", "GB", "permanent", None, None),          # "London" is an alias in the profile
        ("102", None, "DE", "permanent", None, "101"),            # the source's own location mapping
        ("103", None, "GB", "contractor", "2025-06-30", None)]
    assert rows(runtime.db, "SELECT request_id, employee_id, leave_type, days, status FROM leave_records "
                            "ORDER BY 1") == [
        ("bamboohr-9001", "101", "annual", 5, "approved"),
        ("bamboohr-9002", "102", "sick", 1, "approved"),          # 8 hours at 8 hours a day
        ("bamboohr-9004", "102", "annual", 5, "cancelled")]
    assert rows(runtime.db, "SELECT employee_id, leave_type, balance FROM leave_balances ORDER BY 1, 2") == [
        ("101", "annual", 17.5), ("102", "annual", 20), ("102", "sick", 5)]
    assert "/api/gateway.php/acme/v1/employees/103/time_off/calculator" not in " ".join(bamboo.asked)  # left
    assert result.changes["rows"] == 9 and result.changes["changed"] == 9
    assert result.changes["skipped"] == 2
    assert "1 time-off type 'Jury Duty' not mapped" in result.changes["skipped because"]
    assert "1 requests of 0 days" in result.changes["skipped because"]
    audit = rows(runtime.db, "SELECT actor, details->>'kind', (details->>'changed')::int FROM audit_log "
                             "WHERE action = 'records_import' ORDER BY 2")
    assert audit == [("source:hr", "balances", 3), ("source:hr", "employees", 3), ("source:hr", "leave", 3)]
    listed = store.get("hr")
    assert listed.last_success_at is not None and listed.last_changes["changed"] == 9


def test_a_second_sync_writes_only_what_changed(runtime, store, bamboo):
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    run_source(runtime.ingestor, store, source, profile=runtime.profile)
    again = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert (again.status, again.changes["rows"], again.changes["changed"]) == ("ok", 9, 0)
    bamboo.balance("101", "Vacation", "12.5")
    bamboo.time_off("9006", "101", "Vacation", "2026-05-04", "2026-05-08", "5")
    third = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert (third.changes["changed"], third.changes["balances changed"], third.changes["leave changed"]) == (2, 1, 1)
    assert rows(runtime.db, "SELECT balance FROM leave_balances WHERE employee_id = '101'") == [(12.5,)]
    bamboo.time_off_requests = [r for r in bamboo.time_off_requests if r["id"] != "9001"]  # deleted in the HR system
    fourth = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert fourth.changes["leave removed"] == 1
    assert [r[0] for r in rows(runtime.db, "SELECT request_id FROM leave_records ORDER BY 1")] == [
        "bamboohr-9002", "bamboohr-9004", "bamboohr-9006"]


def test_a_source_removes_only_the_requests_it_brought_in(runtime, store, bamboo):
    from knowledge.people.imports import import_csv

    import_csv(runtime.db, b"employee_id,email,name,country,hire_date\n101,ada@x.example,Ada,GB,2020-01-06\n",
               actor="test")
    import_csv(runtime.db, b"request_id,employee_id,leave_type,start_date,end_date,days,status\n"
                           b"R77,101,annual,2026-06-01,2026-06-01,1,approved\n", actor="test")
    run_source(runtime.ingestor, store, store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600),
               profile=runtime.profile)
    bamboo.time_off_requests = []  # an empty answer is not taken as "everything was deleted"
    empty = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert empty.status == "ok" and "leave removed" not in empty.changes
    assert rows(runtime.db, "SELECT count(*) FROM leave_records") == [(4,)]
    bamboo.time_off("9010", "101", "Vacation", "2026-09-01", "2026-09-01", "1")
    again = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert again.changes["leave removed"] == 3
    assert [r[0] for r in rows(runtime.db, "SELECT request_id FROM leave_records ORDER BY 1")] == [
        "R77", "bamboohr-9010"]


def test_one_bad_record_fails_the_run_with_its_name_and_writes_nothing(runtime, store, bamboo):
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    run_source(runtime.ingestor, store, source, profile=runtime.profile)
    bamboo.balance("101", "Vacation", "3")                            # would change
    bamboo.hire("104", "Dev", "Rao", "", "London", "2026-01-05")     # no work email
    bamboo.time_off("9007", "404", "Vacation", "2026-06-01", "2026-06-01", "1")  # a person it does not list
    failed = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert failed.status == "failed" and failed.failures == 1
    assert "The records was not imported; nothing was changed" in failed.error
    assert "employee 104: email is empty" in failed.error
    assert "time-off request 9007: unknown employee '404'" in failed.error
    assert rows(runtime.db, "SELECT balance FROM leave_balances WHERE employee_id = '101'") == [(17.5,)]
    assert rows(runtime.db, "SELECT count(*) FROM employees") == [(3,)]
    status = store.get("hr")
    assert status.failures == 1 and "email is empty" in status.last_error


def test_rate_limits_are_waited_out_and_refusals_fail_kindly_without_the_key(runtime, store, bamboo, caplog,
                                                                            monkeypatch):
    caplog.set_level(logging.DEBUG)
    bamboo.throttle.add("/api/gateway.php/acme/v1/time_off/requests/")
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    assert bamboo.asked.count("GET /api/gateway.php/acme/v1/time_off/requests/") == 2
    bamboo.forbid = True
    refused = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert refused.status == "failed" and "refused access (403)" in refused.error and "credentials" in refused.error
    bamboo.forbid = False
    monkeypatch.setenv("BAMBOO_KEY", "wrong-key")
    wrong = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert wrong.status == "failed" and "(401)" in wrong.error
    assert rows(runtime.db, "SELECT count(*) FROM employees") == [(3,)]  # the first sync is intact
    stored = rows(runtime.db, "SELECT settings::text, coalesce(last_error, '') FROM sources")
    logged = caplog.text + refused.error + wrong.error
    assert KEY not in str(stored) and KEY not in logged and "env:BAMBOO_KEY" in stored[0][0]
    with pytest.raises(ConfigurationError, match="looks like a credential"):
        store.add("hr2", "bamboohr", {**bamboo_settings(bamboo), "api_key": KEY}, 3600)


def test_answers_say_when_records_were_synced_and_when_the_hr_system_sync_is_stale(runtime, store, bamboo, tmp_path):
    (tmp_path / "leave.md").write_text("# Annual leave\n\nEveryone gets 25 days of annual leave a year.\n")
    runtime.ingestor.ingest_paths([tmp_path / "leave.md"])
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    runtime.answers.freshness.invalidate()
    mine = runtime.answers.answer("How much annual leave do I have?", Asker("U0AAA"))
    assert mine.facts and "Your records as of" in mine.text and "has not synced" not in mine.text
    assert "17.5" in mine.text
    with runtime.db.owner.connection() as conn:  # the HR system has not answered for three days
        conn.execute("UPDATE sources SET last_success_at = now() - interval '3 days', last_run_at = now()")
    runtime.answers.freshness.invalidate()
    stale = runtime.answers.answer("How much annual leave do I have?", Asker("U0AAA"))
    assert "hr has not synced since" in stale.text and "out of date" in stale.text



def test_answer_freshness_knows_every_records_source_kind():
    """Answering reads the sources table without importing sources, so it names the records kinds itself: a new
    records kind must be added there too, or its staleness would never reach an answer."""
    from knowledge.answering.freshness import RECORD_SOURCE_KINDS
    from knowledge.sources.kinds import RECORD_KINDS

    assert set(RECORD_SOURCE_KINDS) == set(RECORD_KINDS)


@pytest.fixture
def hr_database(pg_server, monkeypatch):
    """The company's own HR database (another database on the same server), with a reader that may only read."""
    from psycopg.conninfo import make_conninfo

    admin_uri = pg_server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS hr_system WITH (FORCE)")
        conn.execute("CREATE DATABASE hr_system")
        conn.execute("DROP ROLE IF EXISTS hr_reader")
        conn.execute("CREATE ROLE hr_reader LOGIN PASSWORD 'reader-secret-pw'")
    url = make_conninfo(admin_uri, dbname="hr_system")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""
            CREATE TABLE staff (staff_no text PRIMARY KEY, mail text, full_name text, site text, started date);
            CREATE TABLE absences (ref text PRIMARY KEY, staff_no text, kind text, first_day date, last_day date,
                                   length numeric, state text);
            INSERT INTO staff VALUES ('S1', 'ada@x.example', 'Ada Lovelace', 'London', '2020-01-06'),
                                     ('S2', 'bruno@x.example', 'Bruno Kraus', 'Berlin office', '2024-03-01');
            INSERT INTO absences VALUES ('A1', 'S1', 'annual', '2026-02-02', '2026-02-06', 5, 'approved'),
                                        ('A2', 'S2', 'sick', '2026-03-10', '2026-03-10', 1, 'approved');
            GRANT SELECT ON staff, absences TO hr_reader;""")
    monkeypatch.setenv("HR_DB_URL", make_conninfo(url, user="hr_reader", password="reader-secret-pw"))
    monkeypatch.setenv("HR_DB_OWNER_URL", url)
    yield url
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS hr_system WITH (FORCE)")


QUERIES = {
    "employees": "SELECT staff_no AS employee_id, mail AS email, full_name AS name, site AS country, "
                 "started AS hire_date FROM staff",
    "leave": "SELECT ref AS request_id, staff_no AS employee_id, kind AS leave_type, first_day AS start_date, "
             "last_day AS end_date, length AS days, state AS status FROM absences"}


def test_a_sql_source_reads_columns_named_as_the_import_and_never_writes(runtime, store, hr_database):
    settings = {"dsn": "env:HR_DB_URL", "queries": QUERIES, "locations": {"Berlin office": "DE"}}
    result = run_source(runtime.ingestor, store, store.add("hrdb", "sql", settings, 3600), profile=runtime.profile)
    assert result.status == "ok", result.error
    assert rows(runtime.db, "SELECT employee_id, country FROM employees ORDER BY 1") == [("S1", "GB"), ("S2", "DE")]
    assert rows(runtime.db, "SELECT request_id, days FROM leave_records ORDER BY 1") == [("A1", 5), ("A2", 1)]
    # A query that would write is refused by the read-only transaction, even with an account that could write
    writing = {"dsn": "env:HR_DB_OWNER_URL", "queries": {
        "employees": "WITH gone AS (DELETE FROM staff RETURNING *) SELECT staff_no AS employee_id, mail AS email, "
                     "full_name AS name, site AS country, started AS hire_date FROM gone"}}
    refused = run_source(runtime.ingestor, store, store.add("bad", "sql", writing, 3600), profile=runtime.profile)
    assert refused.status == "failed" and "read-only transaction" in refused.error
    with psycopg.connect(hr_database) as conn:
        assert conn.execute("SELECT count(*) FROM staff").fetchone()[0] == 2
    misnamed = {"dsn": "env:HR_DB_URL", "queries": {"employees": "SELECT staff_no, mail AS email FROM staff"}}
    wrong = run_source(runtime.ingestor, store, store.add("typo", "sql", misnamed, 3600), profile=runtime.profile)
    assert wrong.status == "failed" and "columns the import does not know: staff_no" in wrong.error
    assert "reader-secret-pw" not in str(rows(runtime.db, "SELECT settings::text, last_error FROM sources"))
    with pytest.raises(ConfigurationError, match="looks like a credential"):
        store.add("plain", "sql", {"dsn": "postgresql://hr_reader:pw@db/hr", "queries": QUERIES}, 3600)


def test_a_records_database_that_is_down_fails_the_run_kindly(runtime, store, monkeypatch):
    monkeypatch.setenv("HR_DB_URL", "postgresql://reader:reader-pw-7@127.0.0.1:9/hr?connect_timeout=2")
    down = run_source(runtime.ingestor, store, store.add("hrdb", "sql", {"dsn": "env:HR_DB_URL", "queries": QUERIES},
                                                         3600), profile=runtime.profile)
    assert down.status == "failed" and down.error.startswith("The records database cannot be reached")
    assert "reader-pw-7" not in down.error and store.get("hrdb").failures == 1


def test_the_cli_adds_and_runs_a_records_source_from_settings(invoke, runtime, bamboo, tmp_path):
    added = invoke("sources", "add", "hr", "--kind", "bamboohr", "--set", "company=acme",
                   "--set", "api_key=env:BAMBOO_KEY", "--set", f"base_url={bamboo.base_url}",
                   "--set", "leave_types.Vacation=annual", "--set", "leave_types.79=sick",
                   "--set", "locations.Berlin office=DE", "--every", "1h")
    assert added.exit_code == 0, added.output
    assert SourceStore(runtime.db).get("hr").settings["leave_types"] == {"Vacation": "annual", "79": "sick"}
    ran = invoke("sources", "run", "hr")
    assert ran.exit_code == 0, ran.output
    assert "rows 9, changed 9" in ran.output and "skipped 2" in ran.output
    toml = tmp_path / "hrdb.toml"
    toml.write_text('dsn = "env:HR_DB_URL"\n[queries]\nemployees = """\nSELECT 1\n"""\n')
    assert invoke("sources", "add", "hrdb", "--kind", "sql", "--settings", str(toml)).exit_code == 0
    assert SourceStore(runtime.db).get("hrdb").settings["queries"]["employees"].strip() == "SELECT 1"
    with pytest.raises(ConfigurationError, match="needs its settings"):
        invoke("sources", "add", "empty", "--kind", "bamboohr")


def test_with_records_but_no_policy_yet_a_balance_question_gets_the_records(runtime, store, bamboo):
    """A company that connected its HR system before uploading its leave policy: the figure from the records
    (with its arithmetic) is the answer, unsupported by a document, so it shows among the gaps for HR."""
    run_source(runtime.ingestor, store, store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600),
               profile=runtime.profile)
    mine = runtime.answers.answer("How much annual leave do I have?", Asker("U0AAA"))
    assert mine.kind == "answer" and not mine.supported and not mine.citations
    assert "17.5 days available according to the HR system" in mine.text and "Your records as of" in mine.text
    policy = runtime.answers.answer("Does the dental plan cover implants?", Asker("U0AAA"))
    assert policy.kind == "not_found" and "I don't know" in policy.text


def test_a_person_erased_on_request_is_not_brought_back_by_the_next_sync(runtime, store, bamboo):
    from knowledge.operations.privacy import forget
    from knowledge.people.imports import import_csv

    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    run_source(runtime.ingestor, store, source, profile=runtime.profile)
    forget(runtime.db, "bruno@x.example", actor="test")           # a leaver's erasure request
    again = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert again.status == "ok", again.error
    assert "rows of people erased on request" in again.changes["skipped because"]
    assert [r[0] for r in rows(runtime.db, "SELECT employee_id FROM employees ORDER BY 1")] == ["101", "103"]
    assert rows(runtime.db, "SELECT count(*) FROM leave_records WHERE employee_id = '102'") == [(0,)]
    remembered = str(rows(runtime.db, "SELECT id_hash FROM erased_people"))
    assert "bruno" not in remembered and "102" not in remembered  # one-way hashes only
    # HR imports the person again by hand (rehired): a deliberate act that lifts the erasure
    import_csv(runtime.db, b"employee_id,email,name,country,hire_date\n102,bruno@x.example,Bruno Kraus,DE,2027-01-04\n",
               actor="U0ADMIN", profile=runtime.profile)
    back = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert "skipped because" not in back.changes or "erased" not in back.changes["skipped because"]
    assert rows(runtime.db, "SELECT count(*) FROM leave_records WHERE employee_id = '102'") == [(2,)]


def test_hr_system_balances_are_filed_under_the_leave_year_holding_their_date(monkeypatch):
    """A leave year from 1 April: a balance as of 15 February 2027 belongs to the leave year 1 April 2026 to
    31 March 2027 (labelled 2026, the `year` answers look it up by), not to calendar 2027; a location whose leave
    year is the calendar year files it under 2027."""
    from datetime import date
    from pathlib import Path

    from knowledge.profile.load import load_profile
    from knowledge.sources.records import bamboohr_pull

    profile = load_profile(Path(__file__).parent / "data" / "companies" / "northwind" / "profile.toml")
    hr = FakeBambooHR(api_key=KEY)
    monkeypatch.setenv("BAMBOO_KEY", KEY)
    try:
        hr.hire("201", "Isha", "Rao", "isha@nw.example", "Bengaluru", "2021-06-01")
        hr.hire("202", "Noah", "Kim", "noah@nw.example", "NYC", "2022-02-01")
        hr.balance("201", "Casual", "3.5", type_id="81")
        hr.balance("202", "PTO", "4")
        pull = bamboohr_pull({"company": "acme", "api_key": "env:BAMBOO_KEY", "base_url": hr.base_url,
                              "leave_types": {"Casual": "casual", "PTO": "pto"}}, profile, date(2027, 2, 15))
    finally:
        hr.close()
    balances = {row["employee_id"]: (row["year"], row["as_of"])
                for name, kind, table in pull.tables if kind == "balances" for _, row in table}
    assert balances == {"201": ("2026", "2027-02-15"), "202": ("2027", "2027-02-15")}
