"""More HR systems (issue 25 item 3): Merge's unified HRIS API and Personio directly, each against a local server
answering as the service documents (paging, 429 with Retry-After, revoked credentials), mapped onto the profile's
leave types and locations like the BambooHR source, written all or nothing, erased people never brought back."""
import logging

import pytest

from knowledge.sources import merge as merge_module
from knowledge.sources.runner import run_source
from tests.fakes.merge_api import FakeMerge
from tests.fakes.personio_api import FakePersonio
from tests.test_records_sources import rows

MERGE_KEY, ACCOUNT_TOKEN = "merge-test-key-123", "linked-account-token-456"
PERSONIO_SECRET = "papi-secret-789"
TABLES = ("employees", "leave_records", "leave_balances", "colleague_names")


def snapshot(db) -> dict:
    return {table: rows(db, f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}


# --- Merge ------------------------------------------------------------------------------------------------------

@pytest.fixture
def merge(monkeypatch):
    hr = FakeMerge(MERGE_KEY, ACCOUNT_TOKEN)
    monkeypatch.setenv("MERGE_KEY", MERGE_KEY)
    monkeypatch.setenv("MERGE_ACCOUNT", ACCOUNT_TOKEN)
    monkeypatch.setattr(merge_module, "PAGE_SIZE", 2)  # every list takes several pages
    hr.location("L1", "London HQ", city="London", country="GB")
    hr.location("L2", "Berlin office", city="Berlin", country="DE")
    hr.hire("101", "Ada", "Lovelace", "ada@x.example", "L1", "2020-01-06", department="Engineering",
            field_mappings={"linked_account_defined_targets": {"slack_id": "U0AAA"},
                            "organization_defined_targets": {}})
    hr.hire("102", "Bruno", "Kraus", "bruno@x.example", "L2", "2024-03-01", manager="101")
    hr.hire("103", "Cleo", "Ng", "cleo@x.example", "L1", "2019-05-01", status="INACTIVE",
            terminated="2025-06-30", employment="CONTRACTOR")
    hr.request_time_off("9001", "101", "VACATION", "2026-02-02", "2026-02-06", 5)
    hr.request_time_off("9002", "102", "SICK", "2026-03-10", "2026-03-10", 8, units="HOURS")
    hr.request_time_off("9003", "101", "JURY_DUTY", "2026-04-01", "2026-04-01", 1)
    hr.request_time_off("9004", "102", "VACATION", "2026-08-03", "2026-08-07", 5, status="CANCELLED")
    hr.request_time_off("9005", "101", "VACATION", "2026-12-24", "2026-12-24", 0, status="REQUESTED")
    hr.request_time_off("9006", "101", "VACATION", "2026-09-01", "2026-09-01", 1, status="DELETED")
    hr.balance("101", "VACATION", 140)   # hours: 17.5 days
    hr.balance("102", "VACATION", 160)
    hr.balance("102", "SICK", 40)
    hr.balance("103", "VACATION", 80)    # left: not ours
    hr.balance("101", "PERSONAL", 16)    # a type the company did not map
    yield hr
    hr.close()


def merge_settings(hr, **more):
    return {"api_key": "env:MERGE_KEY", "account_token": "env:MERGE_ACCOUNT", "base_url": hr.base_url,
            "leave_types": {"VACATION": "annual", "sick": "sick"}, "locations": {"Berlin office": "DE"},
            "slack_field": "slack_id", **more}


def test_merge_maps_people_time_off_and_balances_in_hours_across_pages(runtime, store, merge):
    merge.request_time_off("9007", "101", "VACATION", "2026-10-01", "2026-10-01", 1)
    merge.time_off["t-9007"]["employee"] = None  # the employee gone from Merge
    source = store.add("unified", "merge", merge_settings(merge), 3600)
    result = run_source(runtime.ingestor, store, source, profile=runtime.profile)
    assert result.status == "ok", result.error
    assert rows(runtime.db, "SELECT employee_id, slack_user_id, country, department, employment_type, "
                            "end_date::text, manager_id FROM employees ORDER BY 1") == [
        ("101", "U0AAA", "GB", "Engineering", "permanent", None, None),  # the HR system's ids, not Merge's
        ("102", None, "DE", None, "permanent", None, "101"),
        ("103", None, "GB", None, "contractor", "2025-06-30", None)]
    assert rows(runtime.db, "SELECT request_id, employee_id, leave_type, days, status FROM leave_records "
                            "ORDER BY 1") == [
        ("merge-9001", "101", "annual", 5, "approved"),
        ("merge-9002", "102", "sick", 1, "approved"),                     # 8 hours at 8 hours a day
        ("merge-9004", "102", "annual", 5, "cancelled")]
    assert rows(runtime.db, "SELECT employee_id, leave_type, balance FROM leave_balances ORDER BY 1, 2") == [
        ("101", "annual", 17.5), ("102", "annual", 20), ("102", "sick", 5)]
    assert "1 time-off type 'JURY_DUTY' not mapped" in result.changes["skipped because"]
    assert "1 requests of 0 days" in result.changes["skipped because"]
    assert "1 requests naming no employee" in result.changes["skipped because"]
    assert merge.asked.count("GET /api/hris/v1/time-off") == 4  # seven requests, two a page
    assert all(c.query.get("page_size") == "2" for c in merge.calls)


def test_merge_deletions_at_the_source_are_removed_and_a_failed_page_writes_nothing(runtime, store, merge):
    source = store.add("unified", "merge", merge_settings(merge), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    merge.time_off["t-9001"]["remote_was_deleted"] = True
    again = run_source(runtime.ingestor, store, store.get("unified"), profile=runtime.profile)
    assert again.changes["leave removed"] == 1
    before = snapshot(runtime.db)
    merge.hire("104", "Dev", "Rao", "dev@x.example", "L1", "2026-01-05")
    merge.balance("101", "VACATION", 24)
    merge.broken_page = ("/time-off-balances", 3)  # the last table, its third page
    failed = run_source(runtime.ingestor, store, store.get("unified"), profile=runtime.profile)
    assert failed.status == "failed" and "HTTP 500" in failed.error
    assert snapshot(runtime.db) == before


def test_merge_rate_limits_are_waited_out_and_a_revoked_key_fails_kindly(runtime, store, merge, caplog):
    caplog.set_level(logging.DEBUG)
    merge.throttle.add("/api/hris/v1/employees")
    source = store.add("unified", "merge", merge_settings(merge), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    assert merge.asked.count("GET /api/hris/v1/employees") == 3  # two pages, the first asked twice
    before = snapshot(runtime.db)
    merge.revoked = True
    refused = run_source(runtime.ingestor, store, store.get("unified"), profile=runtime.profile)
    assert refused.status == "failed" and "refused access (401)" in refused.error and "credentials" in refused.error
    assert snapshot(runtime.db) == before
    said = caplog.text + refused.error + str(rows(runtime.db, "SELECT settings::text, last_error FROM sources"))
    assert MERGE_KEY not in said and ACCOUNT_TOKEN not in said


def test_merge_does_not_bring_back_a_person_erased_on_request(runtime, store, merge):
    from knowledge.operations.privacy import forget

    source = store.add("unified", "merge", merge_settings(merge), 3600)
    run_source(runtime.ingestor, store, source, profile=runtime.profile)
    forget(runtime.db, "bruno@x.example", actor="test")
    again = run_source(runtime.ingestor, store, store.get("unified"), profile=runtime.profile)
    assert again.status == "ok", again.error
    assert "rows of people erased on request" in again.changes["skipped because"]
    assert rows(runtime.db, "SELECT count(*) FROM employees WHERE employee_id = '102'") == [(0,)]
    assert rows(runtime.db, "SELECT count(*) FROM leave_records WHERE employee_id = '102'") == [(0,)]
    assert rows(runtime.db, "SELECT count(*) FROM leave_balances WHERE employee_id = '102'") == [(0,)]


def test_merge_reports_a_location_the_profile_does_not_know_instead_of_guessing(runtime, store, merge):
    merge.location("L3", "Atlantis office", city="Atlantis")
    merge.hire("105", "Eve", "Li", "eve@x.example", "L3", "2026-01-05")
    failed = run_source(runtime.ingestor, store, store.add("unified", "merge", merge_settings(merge), 3600),
                        profile=runtime.profile)
    assert failed.status == "failed" and "employee 105" in failed.error and "Atlantis office" in failed.error
    assert rows(runtime.db, "SELECT count(*) FROM employees") == [(0,)]


# --- Personio ---------------------------------------------------------------------------------------------------

@pytest.fixture
def personio(monkeypatch):
    hr = FakePersonio("papi-client-1", PERSONIO_SECRET)
    hr.page_limit = 2
    monkeypatch.setenv("PERSONIO_SECRET", PERSONIO_SECRET)
    hr.hire(101, "Ada", "Lovelace", "ada@x.example", "London", "2020-01-06", department="Engineering",
            dynamic_555="U0AAA")
    hr.hire(102, "Bruno", "Kraus", "bruno@x.example", "Berlin office", "2024-03-01", supervisor=101, hours=20)
    hr.hire(103, "Cleo", "Ng", "cleo@x.example", "London", "2019-05-01", status="inactive",
            terminated="2025-06-30", employment="external")
    hr.absence(9001, 101, "Paid vacation", "2026-02-02", "2026-02-06", 5)
    hr.absence(9002, 102, "Sick leave", "2026-03-10", "2026-03-10", 0.5, type_id=2)
    hr.absence(9003, 101, "Jury duty", "2026-04-01", "2026-04-01", 1, type_id=3)
    hr.absence(9004, 102, "Paid vacation", "2026-08-03", "2026-08-07", 5, status="pending")
    hr.absence(9005, 101, "Paid vacation", "2026-12-24", "2026-12-24", 0)
    hr.balance(101, "Paid vacation", 17.5)
    hr.balance(102, "Paid vacation", 20)
    hr.balance(102, "Sick leave", 5, type_id=2)
    hr.balance(101, "Jury duty", 3, type_id=3)
    yield hr
    hr.close()


def personio_settings(hr, **more):
    return {"client_id": "papi-client-1", "client_secret": "env:PERSONIO_SECRET", "base_url": hr.base_url,
            "leave_types": {"Paid vacation": "annual", "2": "sick"}, "locations": {"Berlin office": "DE"},
            "slack_field": "dynamic_555", **more}


def test_personio_maps_employees_absences_and_balances_across_pages(runtime, store, personio):
    source = store.add("personio", "personio", personio_settings(personio), 3600)
    result = run_source(runtime.ingestor, store, source, profile=runtime.profile)
    assert result.status == "ok", result.error
    assert rows(runtime.db, "SELECT employee_id, slack_user_id, country, department, employment_type, fte, "
                            "end_date::text, manager_id FROM employees ORDER BY 1") == [
        ("101", "U0AAA", "GB", "Engineering", "permanent", 1, None, None),
        ("102", None, "DE", None, "permanent", 0.5, None, "101"),         # 20 of a 40-hour week
        ("103", None, "GB", None, "contractor", 1, "2025-06-30", None)]
    assert rows(runtime.db, "SELECT request_id, employee_id, leave_type, start_date::text, days, status "
                            "FROM leave_records ORDER BY 1") == [
        ("personio-9001", "101", "annual", "2026-02-02", 5, "approved"),
        ("personio-9002", "102", "sick", "2026-03-10", 0.5, "approved"),
        ("personio-9004", "102", "annual", "2026-08-03", 5, "pending")]
    assert rows(runtime.db, "SELECT employee_id, leave_type, balance FROM leave_balances ORDER BY 1, 2") == [
        ("101", "annual", 17.5), ("102", "annual", 20), ("102", "sick", 5)]
    assert "1 time-off type 'Jury duty' not mapped" in result.changes["skipped because"]
    assert "1 requests of 0 days" in result.changes["skipped because"]
    assert "GET /v1/company/employees/103/absences/balance" not in personio.asked  # left
    assert personio.asked.count("GET /v1/company/employees") == 2
    assert personio.asked.count("POST /v1/auth") == 1


def test_personio_a_failed_page_writes_nothing(runtime, store, personio):
    source = store.add("personio", "personio", personio_settings(personio), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    before = snapshot(runtime.db)
    personio.hire(104, "Dev", "Rao", "dev@x.example", "London", "2026-01-05")
    personio.absence(9006, 104, "Paid vacation", "2026-06-01", "2026-06-01", 1)
    personio.broken_page = ("/v1/company/time-offs", 3)
    failed = run_source(runtime.ingestor, store, store.get("personio"), profile=runtime.profile)
    assert failed.status == "failed" and "HTTP 500" in failed.error
    assert snapshot(runtime.db) == before


def test_personio_rate_limits_are_waited_out_and_revoked_credentials_fail_kindly(runtime, store, personio,
                                                                                   caplog):
    caplog.set_level(logging.DEBUG)
    personio.throttle.add("/v1/company/time-offs")
    source = store.add("personio", "personio", personio_settings(personio), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    assert personio.asked.count("GET /v1/company/time-offs") == 4  # three pages, the first asked twice
    before = snapshot(runtime.db)
    personio.revoke()
    refused = run_source(runtime.ingestor, store, store.get("personio"), profile=runtime.profile)
    assert refused.status == "failed" and "refused access (401)" in refused.error
    assert snapshot(runtime.db) == before
    assert PERSONIO_SECRET not in caplog.text + refused.error


def test_personio_does_not_bring_back_a_person_erased_on_request(runtime, store, personio):
    from knowledge.operations.privacy import forget

    source = store.add("personio", "personio", personio_settings(personio), 3600)
    run_source(runtime.ingestor, store, source, profile=runtime.profile)
    forget(runtime.db, "bruno@x.example", actor="test")
    again = run_source(runtime.ingestor, store, store.get("personio"), profile=runtime.profile)
    assert again.status == "ok", again.error
    assert "rows of people erased on request" in again.changes["skipped because"]
    assert [r[0] for r in rows(runtime.db, "SELECT employee_id FROM employees ORDER BY 1")] == ["101", "103"]
    assert rows(runtime.db, "SELECT count(*) FROM leave_records WHERE employee_id = '102'") == [(0,)]
    assert "GET /v1/company/employees/102/absences/balance" not in personio.asked[-3:]


def test_a_credential_given_in_clear_is_refused_for_both_kinds(store, merge, personio):
    from knowledge.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="looks like a credential"):
        store.add("unified", "merge", {**merge_settings(merge), "account_token": ACCOUNT_TOKEN}, 3600)
    with pytest.raises(ConfigurationError, match="looks like a credential"):
        store.add("personio", "personio", {**personio_settings(personio), "client_secret": PERSONIO_SECRET}, 3600)


def test_personio_time_offs_paged_by_page_number_are_all_read_and_a_short_list_fails(runtime, store, personio,
                                                                                     monkeypatch):
    """Personio documents offset as counting items, but its time-offs have been seen to count pages: a second
    page that comes back empty while items are missing is asked again by page number, and a list that still
    ends short of the count Personio gives fails the run instead of deleting the absences it did not see."""
    personio.offset_counts_pages = True
    source = store.add("personio", "personio", personio_settings(personio), 3600)
    result = run_source(runtime.ingestor, store, source, profile=runtime.profile)
    assert result.status == "ok", result.error
    assert [r[0] for r in rows(runtime.db, "SELECT request_id FROM leave_records ORDER BY 1")] == [
        "personio-9001", "personio-9002", "personio-9004"]
    offsets = [c.query["offset"] for c in personio.calls if c.path == "/v1/company/time-offs"]
    assert offsets == ["0", "2", "1", "2"]
    before = snapshot(runtime.db)
    original = personio._page

    def short(call):  # the last page of absences lost on the way
        status, answer, headers = original(call)
        if call.path.endswith("/time-offs") and call.query.get("offset") == "2":
            answer = {**answer, "data": []}
        return status, answer, headers

    monkeypatch.setattr(personio, "_page", short)
    failed = run_source(runtime.ingestor, store, store.get("personio"), profile=runtime.profile)
    assert failed.status == "failed" and "Personio listed 4 of the 5" in failed.error
    assert snapshot(runtime.db) == before


def test_merge_can_map_the_hr_systems_own_type_names_instead_of_merges_six(runtime, store, merge):
    """Merge normalises time-off types to six (a custom plan becomes null); remote_types asks Merge for the HR
    system's own names (remote_fields), so "Sabbatical" and "Annual Leave (UK)" can be mapped."""
    merge.time_off.clear()
    merge.balances.clear()
    merge.request_time_off("9101", "101", "VACATION", "2026-02-02", "2026-02-03", 2, remote_type="Annual Leave (UK)")
    merge.request_time_off("9102", "102", None, "2026-05-04", "2026-05-04", 1, remote_type="Sabbatical")
    merge.balance("101", "VACATION", 80, remote_type="Annual Leave (UK)")
    merge.balance("102", None, 16, remote_type="Sabbatical")
    settings = merge_settings(merge, remote_types=True,
                              leave_types={"Annual Leave (UK)": "annual", "Sabbatical": "unpaid"})
    result = run_source(runtime.ingestor, store, store.add("unified", "merge", settings, 3600),
                        profile=runtime.profile)
    assert result.status == "ok", result.error
    assert rows(runtime.db, "SELECT request_id, leave_type FROM leave_records ORDER BY 1") == [
        ("merge-9101", "annual"), ("merge-9102", "unpaid")]
    assert rows(runtime.db, "SELECT employee_id, leave_type, balance FROM leave_balances ORDER BY 1") == [
        ("101", "annual", 10), ("102", "unpaid", 2)]
    assert {c.query.get("remote_fields") for c in merge.calls if "time-off" in c.path} == \
        {"request_type", "policy_type"}


def test_the_readmes_commands_add_and_run_both_kinds(invoke, runtime, merge, personio, monkeypatch):
    monkeypatch.setenv("MERGE_ACCOUNT", ACCOUNT_TOKEN)
    added = invoke("sources", "add", "hr", "--kind", "merge", "--every", "6h", "--set", "api_key=env:MERGE_KEY",
                   "--set", "account_token=env:MERGE_ACCOUNT", "--set", f"base_url={merge.base_url}",
                   "--set", "leave_types.VACATION=annual", "--set", "leave_types.SICK=sick",
                   "--set", "locations.Berlin office=DE", "--set", "slack_field=slack_id")
    assert added.exit_code == 0, added.output
    ran = invoke("sources", "run", "hr")
    assert ran.exit_code == 0 and "changed 9" in ran.output, ran.output
    added = invoke("sources", "add", "hr2", "--kind", "personio", "--every", "6h", "--set", "client_id=papi-client-1",
                   "--set", "client_secret=env:PERSONIO_SECRET", "--set", f"base_url={personio.base_url}",
                   "--set", "leave_types.Paid vacation=annual", "--set", "leave_types.2=sick",
                   "--set", "locations.Berlin office=DE", "--set", "slack_field=dynamic_555")
    assert added.exit_code == 0, added.output
    ran = invoke("sources", "run", "hr2")
    assert ran.exit_code == 0 and "rows 9" in ran.output, ran.output
