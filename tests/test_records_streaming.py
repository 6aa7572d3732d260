"""Records sync in memory that does not grow with the number of employees (issue 24): the HR system's answers read
as they arrive (knowledge.sources.jsonstream), rows staged in batches inside one transaction and checked across
rows in SQL (knowledge.people.staged). Batch sizes are made tiny here so every path runs many times; the time and
memory at 100,000 employees are benchmarks/records_sync.py's."""
import json
import logging

import pytest

from knowledge.people import staged
from knowledge.sources.items import SourceError
from knowledge.sources.jsonstream import items
from knowledge.sources.runner import run_source
from tests.fakes.bamboohr_api import GeneratedBambooHR
from tests.test_records_sources import KEY, bamboo, bamboo_settings, rows  # noqa: F401 (fixture and helpers)


@pytest.fixture
def tiny_batches(monkeypatch):
    monkeypatch.setattr(staged, "BATCH_ROWS", 2)
    monkeypatch.setattr(staged, "PEOPLE_FETCH", 1)


def chunked(raw: bytes, size: int):
    return (raw[i:i + size] for i in range(0, len(raw), size))


# --- reading an answer as it arrives ------------------------------------------------------------------------------

def test_an_array_is_read_item_by_item_whatever_the_chunk_boundaries():
    report = {"title": "Report", "fields": [{"id": "id"}], "employees": [
        {"id": str(i), "name": "Zoë \u00e9\u4e2d", "fte": 0.25, "big": 12345678901234567890} for i in range(40)],
        "after": {"x": [1, 2]}}
    raw = json.dumps(report, ensure_ascii=False).encode()
    for size in (1, 2, 3, 5, 64, len(raw)):  # a chunk ends inside numbers, strings and multi-byte characters
        got = list(items(chunked(raw, size), "the report", key="employees"))
        assert [g["id"] for g in got] == [str(i) for i in range(40)]
        assert str(got[7]["fte"]) == "0.25" and got[7]["big"] == 12345678901234567890
        assert got[39]["name"] == "Zoë \u00e9\u4e2d"
    assert list(items([b' [ {"a": 1} , {"b": 2} ] '], "the list")) == [{"a": 1}, {"b": 2}]
    assert list(items([b'{"employees": null}'], "the report", key="employees")) == []
    assert list(items([b"null"], "the list")) == []


@pytest.mark.parametrize("raw, message", [
    (b'{"employees": [{"a": 1} {"b": 2}]}', "not valid JSON (expected , or ]"),
    (b'{"employees": [{"a": 1}', "not valid JSON (expected , or ]"),
    (b'{"employees": [{"a": NaN}]}', "NaN is not a number JSON allows"),
    (b'{"employees": [{"a": 1}]} trailing', "more after its end"),
    (b'{"employees": "many"}', "the report's people is text where a list was expected"),
    (b'{"employees": [3]}', "the report's people, item 1 is a number where an object was expected"),
    (b'[{"a": 1}]', "the report is a list where an object was expected"),
    (b'{"employees": [{"a": "\xff"}]}', "not UTF-8"),
])
def test_garbage_in_a_streamed_answer_is_named(raw, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace("[", r"\[")):
        list(items(chunked(raw, 3), "the report", key="employees", where="the report's people"))


def test_an_item_too_large_is_refused_rather_than_buffered():
    huge = b'[{"a": 1}, {"note": "' + b"x" * 5000 + b'"}]'
    got = items(chunked(huge, 100), "the list", max_item=1000)
    assert next(got) == {"a": 1}
    with pytest.raises(SourceError, match="holds an item larger than"):
        next(got)


# --- staged in batches, one transaction ---------------------------------------------------------------------------

def test_a_sync_in_many_tiny_batches_writes_what_one_batch_would(runtime, store, bamboo, tiny_batches, caplog):
    caplog.set_level(logging.INFO, logger="knowledge.sources.records")
    result = run_source(runtime.ingestor, store, store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600),
                        profile=runtime.profile)
    assert result.status == "ok", result.error
    assert (result.changes["rows"], result.changes["changed"]) == (9, 9)
    assert "9 rows staged in 6 batches, written in one transaction" in caplog.text  # 3 + 3 employees/leave/balances
    assert rows(runtime.db, "SELECT employee_id, leave_type, balance FROM leave_balances ORDER BY 1, 2") == [
        ("101", "annual", 17.5), ("102", "annual", 20), ("102", "sick", 5)]
    again = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert (again.changes["rows"], again.changes["changed"]) == (9, 0)


def test_a_failure_in_the_last_batch_leaves_nothing_written(runtime, store, bamboo, tiny_batches):
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    before = {table: rows(runtime.db, f"SELECT * FROM {table} ORDER BY 1") for table in
              ("employees", "leave_records", "leave_balances", "colleague_names")}
    bamboo.hire("104", "Dev", "Rao", "dev@x.example", "London", "2026-01-05")     # staged in an early batch
    bamboo.time_off("9008", "104", "Vacation", "2026-06-01", "2026-06-01", "1")  # and a request of theirs
    bamboo.balance("101", "Vacation", "3")                                       # a change in an early batch
    bamboo.balance("104", "Vacation", "5000")                                    # the very last row: refused
    failed = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert failed.status == "failed" and "nothing was changed" in failed.error
    assert "employee 104's balance 'Vacation': balance 5000 is more than 1000" in failed.error
    bamboo.balance("104", "Vacation", "5")
    bamboo.broken_calculator.add("104")                                          # the last HTTP call fails
    broken = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert broken.status == "failed" and "HTTP 500" in broken.error
    for table, kept in before.items():
        assert rows(runtime.db, f"SELECT * FROM {table} ORDER BY 1") == kept, table


def test_the_checks_across_rows_name_each_row(runtime, store, bamboo, tiny_batches):
    """Duplicates, unknown managers and employees, and a Slack id or email claimed twice are checked in SQL over
    the staged rows, and named as the CSV import names them."""
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    bamboo.hire("105", "Ada", "Twin", "ADA@x.example", "London", "2026-01-05")          # 101's email, other case
    bamboo.hire("106", "Eve", "Li", "eve@x.example", "London", "2026-01-05", customSlackId="U0EVE")
    bamboo.hire("107", "Max", "Li", "max@x.example", "London", "2026-01-05", customSlackId="U0EVE")  # 106's Slack id
    bamboo.hire("108", "Kim", "Li", "kim@x.example", "London", "2026-01-05", supervisor="999")
    bamboo.time_off("9020", "404", "Vacation", "2026-06-01", "2026-06-01", "1")
    bamboo.time_off_requests.append(dict(bamboo.time_off_requests[0]))                # listed twice
    failed = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert failed.status == "failed"
    for message in ("employee 105: email 'ada@x.example' already belongs to employee 101",
                    "employee 108: manager_id '999' is not a known employee",
                    "employee 107: slack_user_id 'U0EVE' already belongs to employee 106",
                    "time-off request 9001: duplicate of time-off request 9001 (bamboohr-9001)",
                    "time-off request 9020: unknown employee '404' (import employees first)"):
        assert message in failed.error
    assert rows(runtime.db, "SELECT count(*) FROM employees") == [(3,)]


def test_a_large_source_is_streamed_and_its_errors_capped(runtime, store, monkeypatch, tiny_batches):
    """A made-up BambooHR of 300 employees (answers sent in chunks) syncs in batches of 64; with every location
    unknown, the error names the first 50 and counts the rest."""
    monkeypatch.setattr(staged, "BATCH_ROWS", 64)
    monkeypatch.setenv("BAMBOO_KEY", KEY)
    hr = GeneratedBambooHR(300, sorted(runtime.profile.locations), api_key=KEY)
    try:
        settings = {"company": "acme", "api_key": "env:BAMBOO_KEY", "base_url": hr.base_url,
                    "leave_types": {"Vacation": "annual", "Sick": "sick"}}
        result = run_source(runtime.ingestor, store, store.add("hr", "bamboohr", settings, 3600),
                            profile=runtime.profile)
        assert result.status == "ok", result.error
        assert (result.changes["employees changed"], result.changes["leave changed"],
                result.changes["balances changed"]) == (300, 1200, 600)
        assert hr.call_count == 302 and rows(runtime.db, "SELECT count(*) FROM colleague_names")[0][0] >= 600
        nowhere = GeneratedBambooHR(300, ["Atlantis"], api_key=KEY)
        try:
            failed = run_source(runtime.ingestor, store, store.add("hr2", "bamboohr", {
                **settings, "base_url": nowhere.base_url}, 3600), profile=runtime.profile)
        finally:
            nowhere.close()
        assert failed.status == "failed" and "employee 1: country 'Atlantis' must be a location code" in failed.error
        assert failed.error.count("must be a location code") == 50 and "...and 250 more" in failed.error
        assert rows(runtime.db, "SELECT count(*) FROM employees") == [(300,)]
    finally:
        hr.close()


def test_a_long_sync_leaves_the_owner_pool_free(runtime, store, bamboo):
    """A sync holds its transaction while the HR system is read (minutes at 100,000 employees): on a connection of
    its own, so an upload or another job meanwhile still gets one of the owner pool's few connections."""
    import threading

    reading, go_on = threading.Event(), threading.Event()
    answer = bamboo.balance_lines

    def slow_balances(employee_id):  # the HR system takes its time with the balances
        reading.set()
        go_on.wait(30)
        return answer(employee_id)

    bamboo.balance_lines = slow_balances
    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    finished = []
    sync = threading.Thread(target=lambda: finished.append(
        run_source(runtime.ingestor, store, source, profile=runtime.profile)))
    sync.start()
    try:
        assert reading.wait(30), "the sync never asked for balances"
        stats = runtime.db.owner.pool.get_stats()
        assert stats["pool_size"] - stats["pool_available"] == 0  # nothing of the pool's held by the sync
    finally:
        go_on.set()
        sync.join(60)
    assert finished and finished[0].status == "ok", finished and finished[0].error
    assert rows(runtime.db, "SELECT count(*) FROM employees")[0][0] > 0
