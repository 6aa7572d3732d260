"""Records sources: employees, leave requests and the balances the HR system computes, pulled on a schedule from
an HR system's API (BambooHR) or from read-only SQL queries against the company's own database.

A pull turns what the source holds into rows with the CSV import's columns, table by table, and hands each table
to where it goes as the rows arrive (`into`): a run streams them into the import's staging tables
(knowledge.people.staged: the import's checks, all or nothing, memory that does not grow with the number of
employees); Pull, the default, keeps them in memory for small uses and tests. What the source has that this
product cannot hold (a time-off type the company did not map, a request of zero days) is counted as skipped, by
reason, so the admin sees it in the source's status instead of a run that never succeeds.
"""
from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from knowledge.errors import ConfigurationError
from knowledge.sources import jsonstream, payload
from knowledge.sources.items import SourceError, resolve_secret
from knowledge.sources.transport import request, streamed

log = logging.getLogger(__name__)

MAX_RESPONSE = 16 * 1024 * 1024  # one employee's balances: a few kB; this only stops a runaway answer
MAX_STREAM = 4 * 1024 * 1024 * 1024  # a report or request list, read as it arrives: 100,000 employees are ~200 MB
ERASED_BY = ("employee_id", "email", "slack_user_id")  # the columns an erased person is recognised by
CONCURRENCY = 4  # BambooHR computes balances one employee per call; a few at a time, Retry-After honoured


@dataclass
class Pull:
    """A pull kept in memory (small pulls, tests). A run streams into records.StagedPull instead, which has the
    same three methods and attributes."""
    tables: list[tuple[str, str, list[tuple[str, dict]]]] = field(default_factory=list)  # (name, kind, rows)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> how many
    window: tuple[date, date] = (date.min, date.max)  # the leave requests listed: those overlapping it

    def table(self, name: str, kind: str, rows: Iterable[tuple[str, dict]]) -> None:
        rows = list(rows)
        if rows:
            self.tables.append((name, kind, rows))

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def employees(self) -> Iterator[dict]:
        """The current people of the employees table so far (a row marked "current": False is not)."""
        for _, kind, rows in self.tables:
            if kind == "employees":
                yield from (row for _, row in rows if row.get("current", True) is not False)


class StagedPull:
    """Where a run's pull goes: each table into the import's staging tables as it arrives (StagedImport), less
    the rows of people erased on request (`hrbot records forget`: the source still lists them, but this product
    must not hold them again), which are counted as skipped."""

    def __init__(self, staged, erased: set[str]):
        self.staged, self.erased = staged, erased
        self.skipped: dict[str, int] = {}
        self.window: tuple[date, date] = (date.min, date.max)

    def table(self, name: str, kind: str, rows: Iterable[tuple[str, dict]]) -> None:
        self.staged.table(name, kind, self._without_erased(rows))

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def employees(self) -> Iterator[dict]:
        return self.staged.employees()

    def _without_erased(self, rows: Iterable[tuple[str, dict]]) -> Iterator[tuple[str, dict]]:
        from knowledge.people.erasures import id_hash

        for where, row in rows:
            if self.erased and any(id_hash(row[column]) in self.erased for column in ERASED_BY if row.get(column)):
                self.skip("rows of people erased on request")
                continue
            yield where, row


def locations_matcher(profile, overrides: dict | None):
    """A location name or code at the source -> the profile's location code: the source's own mapping first
    (settings["locations"]), then the profile's codes, names and aliases, case-insensitive. Unknown values are
    passed through, so validation names them."""
    table = {}
    if profile is not None:
        for code, location in profile.locations.items():
            for word in (code, location.name, *location.aliases):
                table[word.strip().lower()] = code
    for name, code in (overrides or {}).items():
        table[str(name).strip().lower()] = str(code).strip().upper()

    def match(*values: str | None) -> str:
        for value in values:
            if value and value.strip().lower() in table:
                return table[value.strip().lower()]
        return next((v for v in values if v), "")

    return match


# --- BambooHR ------------------------------------------------------------------------------------------------

EMPLOYEE_FIELDS = ["id", "firstName", "lastName", "displayName", "workEmail", "department", "location", "country",
                   "employmentHistoryStatus", "hireDate", "terminationDate", "supervisorEId", "status"]
STATUSES = {"approved": "approved", "requested": "pending", "denied": "rejected", "canceled": "cancelled",
            "cancelled": "cancelled", "superceded": "cancelled", "superseded": "cancelled"}
EMPLOYMENT = {"contractor": "contractor", "contract": "contractor", "freelance": "contractor",
              "fixed term": "fixed_term", "fixed-term": "fixed_term", "temporary": "fixed_term"}
NO_DATE = {"", "0000-00-00"}


class BambooHR:
    """The parts of BambooHR's REST API a sync needs (https://documentation.bamboohr.com/reference): a custom
    report of every employee, time-off requests in a window, and each current employee's balances from the
    time-off calculator. HTTP Basic with the API key as the user name; 429/503 Retry-After is waited out."""

    def __init__(self, settings: dict):
        company = settings.get("company")
        if not company:
            raise ConfigurationError("A bamboohr source needs company (the subdomain: acme for acme.bamboohr.com).")
        if not settings.get("api_key"):
            raise ConfigurationError("A bamboohr source needs api_key as env:VARIABLE or file:/path.")
        base = settings.get("base_url", "https://api.bamboohr.com").rstrip("/")
        self.root = f"{base}/api/gateway.php/{urllib.parse.quote(company)}/v1"
        token = base64.b64encode(f"{resolve_secret(settings['api_key'])}:x".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}

    def _json(self, path: str, query: dict | None = None, body: dict | None = None):
        url = f"{self.root}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data else {})}
        status, _, raw = request(url, headers, MAX_RESPONSE, data=data)
        if status != 200:
            raise SourceError(f"BambooHR answered HTTP {status} for {path}.")
        return payload.decode(raw, f"BambooHR's answer for {path} (is base_url right?)")

    @contextmanager
    def _stream(self, path: str, query: dict, body: dict | None = None):
        """The answer's bytes as they arrive (a report of 100,000 employees is never held whole)."""
        url = f"{self.root}{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data else {})}
        with streamed(url, headers, MAX_STREAM, data=data) as (status, _, chunks):
            if status != 200:
                raise SourceError(f"BambooHR answered HTTP {status} for {path}.")
            yield chunks

    def employees(self, extra_fields: list[str]) -> Iterator[dict]:
        with self._stream("/reports/custom", {"format": "JSON", "onlyCurrent": "false"},
                          {"fields": EMPLOYEE_FIELDS + extra_fields}) as chunks:
            yield from jsonstream.items(chunks, "BambooHR's employee report", key="employees",
                                        where="the employee report's employees")

    def requests(self, start: date, end: date) -> Iterator[dict]:
        path = "/time_off/requests/"
        with self._stream(path, {"start": start.isoformat(), "end": end.isoformat()}) as chunks:
            yield from jsonstream.items(chunks, f"BambooHR's answer for {path} (is base_url right?)",
                                        where="the time-off requests")

    def balances(self, employee_id: str, on: date) -> list[dict]:
        return payload.objects(self._json(f"/employees/{urllib.parse.quote(employee_id)}/time_off/calculator",
                                          {"end": on.isoformat()}), f"employee {employee_id}'s balances")


def _days(amount, unit: str | None, hours_per_day: Decimal, where: str = "an amount", field: str = "amount") -> str:
    value = payload.amount(amount, where, field)
    if value is None:
        return ""
    if (unit or "days").lower().startswith("hour"):
        value = value / hours_per_day
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


def _bamboo_date(value) -> str:
    return "" if (value or "") in NO_DATE else str(value)


def bamboohr_pull(settings: dict, profile, today: date, into=None):
    """Settings: company, api_key (env:/file:), leave_types {"Vacation": "annual", ...} (BambooHR's time-off
    type names or ids onto the company's leave types), optional locations {"Head office": "XX"}, slack_field
    and fte_field (custom fields holding a Slack user id / an FTE), hours_per_day (8), concurrency (4), base_url.
    BambooHR offers no modified-since for balances (they accrue daily), so each run reads everything and writes
    only the rows that differ. The report and the requests are read as they arrive and the balances asked for
    the employees already staged (into.employees()), so nothing here grows with the number of employees."""
    api = BambooHR(settings)
    leave_types = {str(k).strip().lower(): v for k, v in (settings.get("leave_types") or {}).items()}
    if not leave_types:
        raise ConfigurationError('A bamboohr source needs leave_types, e.g. {"Vacation": "annual"}: which of '
                                 "BambooHR's time-off types answer which leave questions.")
    hours_per_day = Decimal(str(settings.get("hours_per_day", 8)))
    pull = Pull() if into is None else into
    pull.window = (date(today.year - 1, 1, 1), date(today.year + 1, 12, 31))
    pull.table("employees", "employees",
               _bamboo_employees(api, settings, locations_matcher(profile, settings.get("locations"))))
    pull.table("time-off requests", "leave", _bamboo_time_off(api, pull, leave_types, hours_per_day))
    pull.table("balances", "balances", _bamboo_balances(api, pull.employees(), leave_types, hours_per_day, today,
                                                        int(settings.get("concurrency", CONCURRENCY)),
                                                        leave_year_of(profile)))
    return pull


def _bamboo_employees(api: BambooHR, settings: dict, location_of) -> Iterator[tuple[str, dict]]:
    """Every employee as an employees row, terminated people included ("current": False: their balances are not
    asked). Every field is checked for what it must be (payload): garbage names the employee and the field."""
    fte_field, slack_field = settings.get("fte_field"), settings.get("slack_field")
    for n, person in enumerate(api.employees([f for f in (slack_field, fte_field) if f]), start=1):
        where = f"employee {n} of the report"
        employee_id = payload.text(person, "id", where)
        where = f"employee {employee_id or n}"
        field = lambda name: payload.text(person, name, where)  # noqa: E731
        name = field("displayName") or " ".join(p for p in (field("firstName"), field("lastName")) if p)
        status = field("employmentHistoryStatus").strip().lower()
        yield where, {
            "employee_id": employee_id, "email": field("workEmail"), "name": name,
            "country": location_of(field("location"), field("country")),
            "department": field("department"), "employment_type": EMPLOYMENT.get(status, "permanent"),
            "fte": field(fte_field) if fte_field else "",
            "slack_user_id": field(slack_field) if slack_field else "",
            "hire_date": _bamboo_date(field("hireDate")), "end_date": _bamboo_date(field("terminationDate")),
            "manager_id": field("supervisorEId"), "current": (field("status") or "Active").lower() == "active"}


def _bamboo_time_off(api: BambooHR, pull, leave_types: dict, hours_per_day: Decimal) -> Iterator[tuple[str, dict]]:
    """The time-off requests of the pull's window as leave rows; unmapped types and 0-day requests skipped."""
    for n, asked in enumerate(api.requests(*pull.window), start=1):
        where = f"time-off request {payload.text(asked, 'id', f'time-off request {n}') or n}"
        kind = payload.obj(asked.get("type") or {}, f"{where}: the field 'type'")
        leave_type = (leave_types.get(payload.text(kind, "name", where).lower())
                      or leave_types.get(payload.text(kind, "id", where)))
        if leave_type is None:
            pull.skip(f"time-off type {kind.get('name')!r} not mapped")
            continue
        amount = payload.obj(asked.get("amount") or {}, f"{where}: the field 'amount'")
        days = _days(amount.get("amount"), payload.text(amount, "unit", where), hours_per_day, where, "amount")
        if days in ("0", "0.00"):
            pull.skip("requests of 0 days")
            continue
        status = payload.text(payload.obj(asked.get("status") or {}, f"{where}: the field 'status'"), "status",
                              where).lower()
        yield where, {
            "request_id": f"bamboohr-{payload.text(asked, 'id', where)}",
            "employee_id": payload.text(asked, "employeeId", where), "leave_type": leave_type,
            "start_date": payload.text(asked, "start", where), "end_date": payload.text(asked, "end", where),
            "days": days, "status": STATUSES.get(status, status)}


def leave_year_of(profile) -> Callable[[dict, str, date], int]:
    """(employee row, leave type, day) -> the label of the leave year holding that day for that person: the
    calendar year their leave year starts in, by the rules of their location (and employment type or department)
    in the profile. A balance is looked up by that label, so one filed under the calendar year of its date is
    never found when the leave year starts on 1 April and the date is in February. Without a profile, a known
    location or rules for the type, the calendar year."""
    from knowledge.people.leave import Employee, leave_year

    def year_of(row: dict, leave_type: str, on: date) -> int:
        location = profile.location(row.get("country")) if profile is not None else None
        try:
            hired = date.fromisoformat(row.get("hire_date") or "")
        except ValueError:
            hired = on
        person = Employee(row["employee_id"], row.get("name", ""), row.get("email", ""), row.get("country", ""),
                          Decimal(1), hired, department=row.get("department") or None,
                          employment_type=row.get("employment_type") or "permanent")
        rules = location.rules_for(leave_type, person) if location is not None else None
        return leave_year(rules, person, on).label if rules is not None else on.year

    return year_of


def _bamboo_balances(api: BambooHR, people: Iterable[dict], leave_types: dict, hours_per_day: Decimal,
                     today: date, concurrency: int, year_of) -> Iterator[tuple[str, dict]]:
    """Each current employee's balances from BambooHR's calculator (one call each, `concurrency` at a time, a
    few dozen asked ahead), each filed under the leave year holding its date (year_of)."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for person, lines in _ahead(pool, lambda who: api.balances(who["employee_id"], today), people,
                                    concurrency * 8):
            employee_id = person["employee_id"]
            for line in lines:
                where = f"employee {employee_id}'s balance {payload.text(line, 'name', employee_id)!r}"
                leave_type = leave_types.get(payload.text(line, "name", where).lower()) or \
                    leave_types.get(payload.text(line, "timeOffType", where))
                if leave_type is None:
                    continue  # a balance of a type the company did not map is simply not ours
                on = _bamboo_date(payload.text(line, "end", where)) or today.isoformat()
                try:
                    year = str(year_of(person, leave_type, date.fromisoformat(on)))
                except ValueError:
                    year = on[:4]  # not a date: validation names it
                yield where, {
                    "employee_id": employee_id, "leave_type": leave_type, "year": year,
                    "balance": _days(line.get("balance"), payload.text(line, "units", where), hours_per_day,
                                     where, "balance"), "as_of": on}


def _ahead(pool: ThreadPoolExecutor, ask, items: Iterable, window: int) -> Iterator[tuple]:
    """(item, ask(item)) in the items' order, with at most `window` asked ahead (pool.map would submit all
    100,000 at once and keep every answer until it is read)."""
    pending: deque = deque()
    for item in items:
        pending.append((item, pool.submit(ask, item)))
        if len(pending) >= window:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


# --- the records path of a run ---------------------------------------------------------------------------------

def write_pull(db, source, pull_of, result, profile) -> None:
    """Pull every record straight into the import's staging tables and write them with the import's checks, in
    one transaction: a row that fails them fails the run and nothing is written, whichever batch it came in. Only
    rows that differ are written (and counted as changed); leave requests this source brought in and no longer
    lists are deleted in the same transaction. Memory stays that of a batch, whatever the number of employees;
    the transaction stays open while the source is read (minutes for 100,000 employees' balances), on a
    connection of its own, so the owner pool stays free for uploads and other jobs meanwhile."""
    from knowledge.people.erasures import erased
    from knowledge.people.staged import Owner, StagedImport

    key = db.binding_key
    with db.owner.long_connection() as conn:  # not the owner pool's: it has two, and this takes minutes
        pull = StagedPull(StagedImport(conn, profile, Owner(source.source_id)), erased(conn))
        pull_of(source.settings, profile, date.today(), pull)
        if not pull.staged.tables:
            raise SourceError("The source returned no records at all; nothing was changed (check its settings).")
        pull.staged.owner = Owner(source.source_id, *pull.window)
        written = pull.staged.finish(source.origin, key)
        log.info("source %s: %d rows staged in %d batches, written in one transaction", source.name,
                 sum(r.rows for r in written), pull.staged.batches)
    removed = sum(r.removed for r in written)
    result.changes = {"rows": sum(r.rows for r in written), "changed": sum(r.changed for r in written),
                      **{f"{r.kind} changed": r.changed for r in written},
                      **({"leave removed": removed} if removed else {}),
                      **({"skipped": sum(pull.skipped.values())} if pull.skipped else {})}
    if pull.skipped:
        log.info("source %s skipped: %s", source.name, pull.skipped)
        result.changes["skipped because"] = "; ".join(f"{n} {reason}" for reason, n in pull.skipped.items())
