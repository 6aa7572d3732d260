"""A records source through Merge's unified HRIS API (https://docs.merge.dev/hris/): one integration for the HR
systems Merge connects (Workday, ADP, Personio, HiBob, Rippling and others), read as Merge's common models
(employees, time off, time-off balances, locations) and mapped onto the company profile's leave types and
locations exactly as the BambooHR source is (records.py): all or nothing, erased people never brought back,
unknown leave types reported rather than guessed.

Merge's own client (`MergePythonClient`) is not used: it installs 49 MB of generated models (63 MB in a fresh
venv) for four GET endpoints, over a venv capped at 800 MB, and it would bring an HTTP stack without our
transport's deadlines, size limits, credentials-stay-home redirects and Retry-After handling. Merge's REST API is
plain JSON with cursor paging, so it is read here with transport.request, one page (at most PAGE_SIZE objects) at
a time: memory stays that of one page whatever the number of employees.

Each run is a full pull (Merge's modified_after would save transfer, but balances change daily and a full pull
with the all-or-nothing write is what keeps deletions at the source deleted here).
"""
from __future__ import annotations

import urllib.parse
from datetime import date
from decimal import Decimal
from typing import Iterator

from knowledge.errors import ConfigurationError
from knowledge.sources import payload
from knowledge.sources.items import SourceError, as_bool, resolve_secret
from knowledge.sources.records import Pull, _days, leave_year_of, locations_matcher
from knowledge.sources.transport import request

PAGE_SIZE = 100  # Merge's largest page
MAX_PAGE = 16 * 1024 * 1024  # 100 expanded employees are ~300 kB; this only stops a runaway answer
MAX_PAGES = 100_000  # a cursor that never ends is a broken answer, not 10 million employees
STATUSES = {"APPROVED": "approved", "REQUESTED": "pending", "DECLINED": "rejected", "CANCELLED": "cancelled"}
EMPLOYMENT = {"CONTRACTOR": "contractor", "FREELANCE": "contractor", "INTERN": "fixed_term"}
CURRENT = {"ACTIVE", "PENDING"}  # PENDING: hired, not started yet; INACTIVE: left


class Merge:
    """Merge's HRIS endpoints a sync needs. Bearer <API key> names our Merge organisation, X-Account-Token the
    linked account (one company's HR system); 429 Retry-After is waited out by transport."""

    def __init__(self, settings: dict):
        for key in ("api_key", "account_token"):
            if not settings.get(key):
                raise ConfigurationError(f"A merge source needs {key} as env:VARIABLE or file:/path.")
        self.root = settings.get("base_url", "https://api.merge.dev").rstrip("/") + "/api/hris/v1"
        self.remote_types = as_bool(settings.get("remote_types"))  # the HR system's own type names, not Merge's
        self.headers = {"Authorization": f"Bearer {resolve_secret(settings['api_key'])}",
                        "X-Account-Token": resolve_secret(settings["account_token"]), "Accept": "application/json"}

    def pages(self, path: str, query: dict) -> Iterator[list[dict]]:
        """The `results` of each page in turn, following `next` (a cursor) until it is null."""
        cursor = None
        for number in range(1, MAX_PAGES + 1):
            asked = {**query, "page_size": PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
            url = f"{self.root}{path}?{urllib.parse.urlencode(asked)}"
            status, _, raw = request(url, self.headers, MAX_PAGE)
            if status != 200:
                raise SourceError(f"Merge answered HTTP {status} for {path}.")
            page = payload.obj(payload.decode(raw, f"Merge's answer for {path} (is base_url right?)"),
                               f"Merge's answer for {path}")
            yield payload.objects(page.get("results"), f"{path}, page {number}")
            cursor = payload.text(page, "next", f"{path}, page {number}")
            if not cursor:
                return
        raise SourceError(f"Merge's {path} did not end after {MAX_PAGES} pages.")

    def each(self, path: str, query: dict | None = None) -> Iterator[dict]:
        for page in self.pages(path, query or {}):
            yield from page


def merge_pull(settings: dict, profile, today: date, into=None):
    """Settings: api_key and account_token (env:/file:), leave_types {"VACATION": "annual", "SICK": "sick"}
    (Merge's request_type / policy_type values onto the company's leave types), optional locations
    {"Head office": "XX"} (a Merge location's name or city onto a profile location code), slack_field (a field
    mapping or custom field holding a Slack user id), hours_per_day (8: Merge gives balances in hours), base_url
    (https://api.merge.dev; https://api-eu.merge.dev for Merge's EU region), remote_types (true: leave_types
    maps the HR system's own time-off type and policy names, asked with Merge's remote_fields, instead of
    Merge's six normalised ones: a Workday with twenty absence plans is not six types)."""
    api = Merge(settings)
    leave_types = {str(k).strip().lower(): v for k, v in (settings.get("leave_types") or {}).items()}
    if not leave_types:
        raise ConfigurationError('A merge source needs leave_types, e.g. {"VACATION": "annual"}: which of '
                                 "Merge's time-off types answer which leave questions.")
    hours_per_day = Decimal(str(settings.get("hours_per_day", 8)))
    pull = Pull() if into is None else into
    pull.window = (date(today.year - 1, 1, 1), date(today.year + 1, 12, 31))
    places = _locations(api, locations_matcher(profile, settings.get("locations")))
    pull.table("employees", "employees", _employees(api, settings, places))
    pull.table("time-off requests", "leave", _time_off(api, pull, leave_types, hours_per_day))
    pull.table("balances", "balances", _balances(api, pull, leave_types, hours_per_day, today, places,
                                                 leave_year_of(profile)))
    return pull


def _locations(api: Merge, location_of) -> dict[str, str]:
    """Merge location id -> profile location code (offices are tens, not thousands: held whole). A location the
    profile does not know keeps its name, so validation names it."""
    found = {}
    for place in api.each("/locations"):
        where = f"location {payload.text(place, 'id', 'a location')}"
        found[payload.text(place, "id", where)] = location_of(
            payload.text(place, "name", where), payload.text(place, "city", where),
            payload.text(place, "country", where))
    return found


def person_id(person: dict, where: str) -> str:
    """The HR system's own id (remote_id), which admins and CSV imports know; Merge's id when there is none."""
    return payload.text(person, "remote_id", where) or payload.text(person, "id", where)


def _employees(api: Merge, settings: dict, places: dict[str, str]) -> Iterator[tuple[str, dict]]:
    slack_field = settings.get("slack_field")
    for n, person in enumerate(api.each("/employees", {"expand": "manager,employments,groups"}), start=1):
        where = f"employee {person_id(person, f'employee {n}') or n}"
        yield where, _employee_row(person, where, places, slack_field)


def _employee_row(person: dict, where: str, places: dict[str, str], slack_field: str | None = None) -> dict:
    field = lambda name: payload.text(person, name, where)  # noqa: E731
    name = field("display_full_name") or " ".join(p for p in (field("preferred_name") or field("first_name"),
                                                              field("last_name")) if p)
    manager = person.get("manager")
    manager_id = person_id(payload.obj(manager, f"{where}: the field 'manager'"), where) \
        if isinstance(manager, dict) else ""
    status = field("employment_status").upper()
    return {
        "employee_id": person_id(person, where), "email": field("work_email"), "name": name,
        "country": places.get(field("work_location"), field("work_location")),
        "department": _department(person, where), "employment_type": _employment_type(person, where),
        "slack_user_id": _mapped(person, slack_field, where) if slack_field else "",
        "hire_date": (field("hire_date") or field("start_date"))[:10],
        "end_date": field("termination_date")[:10], "manager_id": manager_id,
        "current": (status in CURRENT or not status) and not person.get("remote_was_deleted")}


def _department(person: dict, where: str) -> str:
    """The name of the person's group of type DEPARTMENT (groups expanded), else nothing."""
    groups = person.get("groups")
    for group in groups if isinstance(groups, list) else []:
        if isinstance(group, dict) and payload.text(group, "type", where).upper() == "DEPARTMENT":
            return payload.text(group, "name", where)
    return ""


def _employment_type(person: dict, where: str) -> str:
    """From the latest employment (expanded: an object; not expanded, an id: nothing to read)."""
    jobs = person.get("employments")
    jobs = [job for job in jobs if isinstance(job, dict)] if isinstance(jobs, list) else []
    latest = max(jobs, key=lambda job: payload.text(job, "effective_date", where), default={})
    return EMPLOYMENT.get(payload.text(latest, "employment_type", where).upper(), "permanent")


def _mapped(person: dict, name: str, where: str) -> str:
    """A field the admin mapped in Merge (field mappings) or the HR system's custom field of that name."""
    mappings = person.get("field_mappings") if isinstance(person.get("field_mappings"), dict) else {}
    for holder in (mappings.get("linked_account_defined_targets"), mappings.get("organization_defined_targets"),
                   person.get("custom_fields")):
        if isinstance(holder, dict) and holder.get(name) not in (None, ""):
            return payload.text(holder, name, where)
    return ""


def _time_off(api: Merge, pull, leave_types: dict, hours_per_day: Decimal) -> Iterator[tuple[str, dict]]:
    """Time off overlapping the pull's window as leave rows; unmapped types and 0-day requests are skipped and
    counted, requests deleted at the source are not listed (so they are removed here)."""
    since, until = (day.isoformat() for day in pull.window)
    query = {"expand": "employee", **({"remote_fields": "request_type"} if api.remote_types else {})}
    for n, asked in enumerate(api.each("/time-off", query), start=1):
        where = f"time-off request {person_id(asked, f'time-off request {n}') or n}"
        status = payload.text(asked, "status", where).upper()
        if asked.get("remote_was_deleted") or status == "DELETED":
            continue
        start, end = payload.text(asked, "start_time", where)[:10], payload.text(asked, "end_time", where)[:10]
        if start and end and (end < since or start > until):
            continue
        kind = payload.text(asked, "request_type", where)
        leave_type = leave_types.get(kind.lower())
        if leave_type is None:
            pull.skip(f"time-off type {kind or None!r} not mapped")
            continue
        days = _days(asked.get("amount"), payload.text(asked, "units", where), hours_per_day, where, "amount")
        if days in ("0", "0.00"):
            pull.skip("requests of 0 days")
            continue
        person = asked.get("employee")
        if not isinstance(person, dict):
            pull.skip("requests naming no employee")  # Merge lost the employee (deleted at the source)
            continue
        yield where, {
            "request_id": f"merge-{person_id(asked, where)}", "employee_id": person_id(person, where),
            "leave_type": leave_type, "start_date": start, "end_date": end, "days": days,
            "status": STATUSES.get(status, status.lower())}


def _balances(api: Merge, pull, leave_types: dict, hours_per_day: Decimal, today: date, places: dict[str, str],
              year_of) -> Iterator[tuple[str, dict]]:
    """Each current employee's balances (Merge lists them all, in hours), filed under the leave year holding
    today for that person; balances of people who left, or of types the company did not map, are not ours."""
    query = {"expand": "employee", **({"remote_fields": "policy_type"} if api.remote_types else {})}
    for n, line in enumerate(api.each("/time-off-balances", query), start=1):
        where = f"time-off balance {person_id(line, f'time-off balance {n}') or n}"
        if line.get("remote_was_deleted"):
            continue
        leave_type = leave_types.get(payload.text(line, "policy_type", where).lower())
        person = line.get("employee")
        if leave_type is None or not isinstance(person, dict):
            continue
        row = _employee_row(person, where, places)
        if not row["current"]:
            continue
        where = f"employee {row['employee_id']}'s balance {payload.text(line, 'policy_type', where)!r}"
        yield where, {"employee_id": row["employee_id"], "leave_type": leave_type,
                      "year": str(year_of(row, leave_type, today)),
                      "balance": _days(line.get("balance"), "hours", hours_per_day, where, "balance"),
                      "as_of": today.isoformat()}

