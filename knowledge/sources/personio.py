"""A records source reading Personio directly (Personio API v1, https://developer.personio.de/reference): its
employees, their absences (time-off periods) and each current employee's absence balances, mapped onto the
company profile's leave types and locations exactly as the BambooHR source is (records.py): all or nothing,
erased people never brought back, absence types the company did not map reported rather than guessed.

Personio's API is plain JSON, so it is read with transport.request (its deadlines, size limits, redirects that
keep the token home, Retry-After): POST /auth with the API credentials' client id and secret gives a bearer token;
employees and time-offs are paged with limit/offset and read one page at a time; balances are one call per
current employee, a few at a time (records._ahead), as BambooHR's are. Memory stays that of a page and the calls
in flight, whatever the number of employees.
"""
from __future__ import annotations

import json
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Iterable, Iterator

from knowledge.errors import ConfigurationError
from knowledge.sources import payload
from knowledge.sources.items import SourceError, resolve_secret
from knowledge.sources.records import CONCURRENCY, Pull, _ahead, _days, leave_year_of, locations_matcher
from knowledge.sources.transport import request

MAX_PAGE = 16 * 1024 * 1024  # a page of 100 employees with every attribute is ~500 kB
PAGE_LIMITS = {"/company/employees": 100, "/company/time-offs": 200}  # Personio's largest pages
MAX_PAGES = 100_000
STATUSES = {"approved": "approved", "pending": "pending", "requested": "pending", "rejected": "rejected",
            "declined": "rejected", "cancelled": "cancelled", "canceled": "cancelled"}
CURRENT = {"active", "onboarding", "leave"}  # "leave": on (parental) leave, still employed; "inactive": left


class Personio:
    """The parts of Personio's API v1 a sync needs. The token from POST /auth is sent as a bearer token; a token
    Personio rotates (an Authorization header on an answer) replaces it."""

    def __init__(self, settings: dict):
        for key in ("client_id", "client_secret"):
            if not settings.get(key):
                raise ConfigurationError(f"A personio source needs {key} (the client_secret as env:VARIABLE or "
                                         "file:/path).")
        self.root = settings.get("base_url", "https://api.personio.de").rstrip("/") + "/v1"
        client_id = str(settings["client_id"])
        if client_id.startswith(("env:", "file:")):
            client_id = resolve_secret(client_id)
        self.base_headers = {"Accept": "application/json", "X-Personio-App-ID": "hrbot"}
        self.token = self._authenticate(client_id, resolve_secret(settings["client_secret"]))

    def _authenticate(self, client_id: str, secret: str) -> str:
        body = json.dumps({"client_id": client_id, "client_secret": secret}).encode()
        status, _, raw = request(f"{self.root}/auth", {**self.base_headers, "Content-Type": "application/json"},
                                 MAX_PAGE, data=body)
        if status != 200:
            raise SourceError(f"Personio answered HTTP {status} to the authentication (is base_url right?).")
        answer = payload.obj(payload.decode(raw, "Personio's authentication answer"), "Personio's authentication")
        token = payload.text(payload.obj(answer.get("data") or {}, "Personio's authentication data"), "token",
                             "Personio's authentication")
        if not token:
            raise SourceError("Personio's authentication answer holds no token.")
        return token

    def get(self, path: str, query: dict | None = None) -> dict:
        url = f"{self.root}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        status, headers, raw = request(url, {**self.base_headers, "Authorization": f"Bearer {self.token}"},
                                       MAX_PAGE)
        if status != 200:
            raise SourceError(f"Personio answered HTTP {status} for {path}.")
        rotated = (headers.get("Authorization") or "") if headers is not None else ""
        if rotated.startswith("Bearer "):
            self.token = rotated[len("Bearer "):]
        answer = payload.obj(payload.decode(raw, f"Personio's answer for {path} (is base_url right?)"),
                             f"Personio's answer for {path}")
        if answer.get("success") is False:
            raise SourceError(f"Personio refused {path}: {str(answer.get('error'))[:200]}")
        return answer

    def each(self, path: str, query: dict | None = None) -> Iterator[dict]:
        """Every item of a paged list, checked against the count Personio gives (a list cut short would make the
        run delete the absences it did not see). offset counts items as documented; Personio's time-offs have
        been seen to count it in pages instead, which shows on the second page (the page number Personio says it
        sent is not the next one, or it is empty while items are missing): then the pages are asked by number."""
        read, pages_read, by_page, total = 0, 0, False, None
        for _ in range(MAX_PAGES):
            answer = self.get(path, {**(query or {}), "limit": PAGE_LIMITS[path],
                                     "offset": pages_read if by_page else read})
            items = payload.objects(answer.get("data"), f"{path}, page {pages_read + 1}")
            meta = answer.get("metadata") if isinstance(answer.get("metadata"), dict) else {}
            total, page, pages = meta.get("total_elements"), meta.get("current_page"), meta.get("total_pages")
            if read and not by_page and ((isinstance(page, int) and page != pages_read)
                                         or (not items and isinstance(total, int) and read < total)):
                by_page = True  # offset was taken as a page number: this page is not the next one
                continue
            yield from items
            read, pages_read = read + len(items), pages_read + 1
            if not items or (isinstance(pages, int) and pages_read >= pages):
                break
        else:
            raise SourceError(f"Personio's {path} did not end after {MAX_PAGES} pages.")
        if isinstance(total, int) and read != total:
            raise SourceError(f"Personio listed {read} of the {total} items it counts in {path} (changed while "
                              "read?); nothing was changed, tried again at the next run.")

    def balances(self, employee_id: str) -> list[dict]:
        path = f"/company/employees/{urllib.parse.quote(employee_id)}/absences/balance"
        return payload.objects(self.get(path).get("data"), f"employee {employee_id}'s balances")


def value(attributes: dict, name: str):
    """An employee attribute's value: Personio sends {"label": ..., "value": ...} for each."""
    held = attributes.get(name)
    return held.get("value") if isinstance(held, dict) and "value" in held else held


def text(attributes: dict, name: str, where: str) -> str:
    return payload.text({name: value(attributes, name)}, name, where)


def nested(attributes: dict, name: str) -> dict:
    """The attributes of a nested object (an office, a department, a supervisor): {"type", "attributes"}."""
    held = value(attributes, name)
    if not isinstance(held, dict):
        return {}
    inner = held.get("attributes")
    return inner if isinstance(inner, dict) else {}


def personio_pull(settings: dict, profile, today: date, into=None):
    """Settings: client_id, client_secret (env:/file:), leave_types {"Paid vacation": "annual", ...} (Personio's
    absence type names or ids onto the company's leave types), optional locations {"Head office": "XX"} (an
    office name onto a profile location code), slack_field (a custom attribute such as dynamic_1234567 holding
    a Slack user id), concurrency (4), base_url. Personio counts absences in days."""
    api = Personio(settings)
    leave_types = {str(k).strip().lower(): v for k, v in (settings.get("leave_types") or {}).items()}
    if not leave_types:
        raise ConfigurationError('A personio source needs leave_types, e.g. {"Paid vacation": "annual"}: which '
                                 "of Personio's absence types answer which leave questions.")
    pull = Pull() if into is None else into
    pull.window = (date(today.year - 1, 1, 1), date(today.year + 1, 12, 31))
    pull.table("employees", "employees",
               _employees(api, settings, locations_matcher(profile, settings.get("locations"))))
    pull.table("time-off requests", "leave", _time_offs(api, pull, leave_types))
    pull.table("balances", "balances", _balances(api, pull.employees(), leave_types, today,
                                                 int(settings.get("concurrency", CONCURRENCY)),
                                                 leave_year_of(profile)))
    return pull


def _employees(api: Personio, settings: dict, location_of) -> Iterator[tuple[str, dict]]:
    slack_field = settings.get("slack_field")
    for n, item in enumerate(api.each("/company/employees"), start=1):
        person = payload.obj(item.get("attributes"), f"employee {n}: the field 'attributes'")
        employee_id = text(person, "id", f"employee {n}")
        where = f"employee {employee_id or n}"
        field = lambda name: text(person, name, where)  # noqa: E731
        name = " ".join(p for p in (field("preferred_name") or field("first_name"), field("last_name")) if p)
        office = nested(person, "office")
        supervisor = nested(person, "supervisor")
        internal = field("employment_type").lower() != "external"
        yield where, {
            "employee_id": employee_id, "email": field("email"), "name": name,
            "country": location_of(payload.text(office, "name", where)),
            "department": payload.text(nested(person, "department"), "name", where),
            "employment_type": ("fixed_term" if field("contract_end_date") else "permanent") if internal
            else "contractor",
            "fte": _fte(field("weekly_working_hours"), field("full_time_weekly_working_hours")),
            "slack_user_id": field(slack_field) if slack_field else "",
            "hire_date": field("hire_date")[:10], "end_date": field("termination_date")[:10],
            "manager_id": text(supervisor, "id", where) if supervisor else "",
            "current": field("status").lower() in CURRENT}


def _fte(hours: str, full_time: str) -> str:
    """Weekly hours over the full-time week, to three places; nothing when either is missing (validation takes
    an empty FTE as 1)."""
    try:
        fte = Decimal(hours) / Decimal(full_time)
    except (InvalidOperation, ZeroDivisionError):
        return ""
    return f"{fte.quantize(Decimal('0.001')).normalize():f}" if fte.is_finite() and fte > 0 else ""


def _time_offs(api: Personio, pull, leave_types: dict) -> Iterator[tuple[str, dict]]:
    """The absences of the pull's window as leave rows; unmapped types and 0-day absences skipped and counted."""
    since, until = (day.isoformat() for day in pull.window)
    for n, item in enumerate(api.each("/company/time-offs", {"start_date": since, "end_date": until}), start=1):
        asked = payload.obj(item.get("attributes"), f"time-off {n}: the field 'attributes'")
        where = f"time-off request {payload.text(asked, 'id', f'time-off {n}') or n}"
        kind = payload.obj(asked.get("time_off_type") or {}, f"{where}: the field 'time_off_type'")
        kind = payload.obj(kind.get("attributes") or {}, f"{where}: the time-off type's attributes")
        leave_type = leave_types.get(payload.text(kind, "name", where).lower()) or \
            leave_types.get(payload.text(kind, "id", where))
        if leave_type is None:
            pull.skip(f"time-off type {kind.get('name')!r} not mapped")
            continue
        days = _days(asked.get("days_count"), "days", Decimal(1), where, "days_count")
        if days in ("0", "0.00"):
            pull.skip("requests of 0 days")
            continue
        person = payload.obj(asked.get("employee") or {}, f"{where}: the field 'employee'")
        status = payload.text(asked, "status", where).lower()
        yield where, {
            "request_id": f"personio-{payload.text(asked, 'id', where)}",
            "employee_id": text(payload.obj(person.get("attributes") or {}, f"{where}: the employee"), "id", where),
            "leave_type": leave_type, "start_date": payload.text(asked, "start_date", where)[:10],
            "end_date": payload.text(asked, "end_date", where)[:10], "days": days,
            "status": STATUSES.get(status, status)}


def _balances(api: Personio, people: Iterable[dict], leave_types: dict, today: date, concurrency: int,
              year_of) -> Iterator[tuple[str, dict]]:
    """Each current employee's balance per absence type (in days), filed under the leave year holding today."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for person, lines in _ahead(pool, lambda who: api.balances(who["employee_id"]), people, concurrency * 8):
            employee_id = person["employee_id"]
            for line in lines:
                where = f"employee {employee_id}'s balance {payload.text(line, 'name', employee_id)!r}"
                leave_type = leave_types.get(payload.text(line, "name", where).lower()) or \
                    leave_types.get(payload.text(line, "id", where))
                if leave_type is None:
                    continue  # a balance of a type the company did not map is simply not ours
                yield where, {"employee_id": employee_id, "leave_type": leave_type,
                              "year": str(year_of(person, leave_type, today)),
                              "balance": _days(line.get("balance"), "days", Decimal(1), where, "balance"),
                              "as_of": today.isoformat()}
