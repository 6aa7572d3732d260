"""A local BambooHR, answering as BambooHR's REST API documents it (documentation.bamboohr.com/reference): HTTP
Basic with the API key as user name and any password, JSON on `Accept: application/json`, the custom report
(POST .../v1/reports/custom), time-off requests (GET .../v1/time_off/requests/?start&end) and the time-off
calculator (GET .../v1/employees/{id}/time_off/calculator?end). Knobs: a 429 with Retry-After, refusals, a
failing calculator, and counters of what was asked. The report and the requests are sent as they are made
(chunked), so GeneratedBambooHR can serve 100,000 employees made up on the fly without holding them."""
from __future__ import annotations

import base64
import json
import random
import re
from typing import Iterable, Iterator

from tests.fakes.http import Call, FakeService, Streamed

CHUNK = 64 * 1024


class FakeBambooHR(FakeService):
    def __init__(self, company: str = "acme", api_key: str = "bamboo-test-key-123"):
        self.company, self.api_key = company, api_key
        self.employees: dict[str, dict] = {}        # id -> every field
        self.time_off_requests: list[dict] = []      # as the API returns them
        self.balances: dict[str, list[dict]] = {}    # employee id -> calculator lines
        self.throttle: set[str] = set()              # paths (without query) answered 429 once
        self.forbid = False
        self.broken_calculator: set[str] = set()    # employee ids whose calculator answers 500
        super().__init__()

    def answer(self, call: Call):
        expected = "Basic " + base64.b64encode(f"{self.api_key}:x".encode()).decode()
        if call.headers.get("Authorization") != expected:
            return 401, {"error": "Invalid API key"}, None
        prefix = f"/api/gateway.php/{self.company}/v1"
        if not call.path.startswith(prefix + "/"):
            return 404, {"error": "Unknown company"}, None
        if self.forbid:
            return 403, {"error": "The API key's user may not read time off"}, None
        if call.path in self.throttle:
            self.throttle.discard(call.path)
            return 429, {"error": "Too many requests"}, {"Retry-After": "1"}
        path = call.path[len(prefix):]
        if call.method == "POST" and path == "/reports/custom":
            fields = (call.body or {}).get("fields", [])
            head = json.dumps({"title": "Report", "fields": [{"id": f} for f in fields]})[:-1] + ', "employees": '
            rows = ({f: person.get(f) for f in fields} for person in self.people())
            return 200, Streamed(json_chunks(rows, head.encode(), b"}")), None
        if call.method == "GET" and path == "/time_off/requests/":
            start, end = call.query.get("start", "0000"), call.query.get("end", "9999")
            listed = (r for r in self.listed_requests() if r["end"] >= start and r["start"] <= end)
            return 200, Streamed(json_chunks(listed)), None
        match = re.fullmatch(r"/employees/([^/]+)/time_off/calculator", path)
        if call.method == "GET" and match:
            if match.group(1) in self.broken_calculator:
                return 500, {"error": "Internal error"}, None
            lines = self.balance_lines(match.group(1))
            if lines is None:
                return 404, {"error": "Employee not found"}, None
            end = call.query.get("end")
            return 200, [{**line, "end": end} for line in lines], None
        return 404, {"error": "Not found"}, None

    # --- what it holds (GeneratedBambooHR makes it up instead) --------------------------------------------------

    def people(self) -> Iterable[dict]:
        return list(self.employees.values())

    def listed_requests(self) -> Iterable[dict]:
        return list(self.time_off_requests)

    def balance_lines(self, employee_id: str) -> list[dict] | None:
        """The calculator's lines, or None for no such employee."""
        return self.balances.get(employee_id, []) if employee_id in self.employees else None

    @property
    def asked(self) -> list[str]:
        """Each call as "METHOD /path"."""
        return [f"{c.method} {c.path}" for c in self.calls]

    # --- filling it -------------------------------------------------------------------------------------------

    def hire(self, employee_id: str, first: str, last: str, email: str, location: str, hired: str,
             supervisor: str | None = None, status: str = "Active", employment: str = "Full-Time",
             terminated: str = "0000-00-00", **extra) -> None:
        self.employees[employee_id] = {
            "id": employee_id, "firstName": first, "lastName": last, "displayName": f"{first} {last}",
            "workEmail": email, "department": extra.pop("department", "Operations"), "location": location,
            "country": extra.pop("country", None), "employmentHistoryStatus": employment, "hireDate": hired,
            "terminationDate": terminated, "supervisorEId": supervisor, "status": status, **extra}

    def time_off(self, request_id: str, employee_id: str, type_name: str, start: str, end: str, amount: str,
                 status: str = "approved", unit: str = "days", type_id: str = "78") -> None:
        self.time_off_requests = [r for r in self.time_off_requests if r["id"] != request_id]
        self.time_off_requests.append({
            "id": request_id, "employeeId": employee_id, "name": self.employees.get(employee_id, {}).get("displayName"),
            "status": {"lastChanged": start, "lastChangedByUserId": "1", "status": status},
            "start": start, "end": end, "created": start, "type": {"id": type_id, "name": type_name},
            "amount": {"unit": unit, "amount": amount}, "notes": {}})

    def balance(self, employee_id: str, type_name: str, balance: str, units: str = "days",
                type_id: str = "78") -> None:
        lines = [b for b in self.balances.get(employee_id, []) if b["name"] != type_name]
        lines.append({"timeOffType": type_id, "name": type_name, "units": units, "balance": balance,
                      "policyType": "accruing", "usedYearToDate": "0"})
        self.balances[employee_id] = lines


def json_chunks(items: Iterable, head: bytes = b"", tail: bytes = b"") -> Iterator[bytes]:
    """head + a JSON array of items + tail, in chunks of about CHUNK bytes."""
    buffer, first = bytearray(head + b"["), True
    for item in items:
        if not first:
            buffer += b","
        buffer += json.dumps(item).encode()
        first = False
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    yield bytes(buffer + b"]" + tail)


class GeneratedBambooHR(FakeBambooHR):
    """`count` employees (ids 1..count) with 4 time-off requests and 2 balances each, made up from their number
    whenever asked (the same every time), so 100,000 of them cost no memory here. What hire(), time_off() and
    balance() add replaces or joins the made-up ones (a benchmark's changes)."""

    keep_calls = False

    def __init__(self, count: int, locations: list[str], seed: int = 11, **kwargs):
        self.count, self.locations, self.seed = count, locations, seed
        super().__init__(**kwargs)

    def _rng(self, i: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + i)

    def _made_up(self, i: int) -> dict:
        rng = self._rng(i)
        hired = f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        return {"id": str(i), "firstName": f"First{i}", "lastName": f"Last{i}", "displayName": f"First{i} Last{i}",
                "workEmail": f"person{i}@example.test", "department": "Operations",
                "location": rng.choice(self.locations), "country": None, "employmentHistoryStatus": "Full-Time",
                "hireDate": hired, "terminationDate": "0000-00-00",
                "supervisorEId": str(rng.randint(1, i - 1)) if i > 20 else None, "status": "Active"}

    def people(self) -> Iterator[dict]:
        for i in range(1, self.count + 1):
            yield self.employees.get(str(i)) or self._made_up(i)
        yield from (person for key, person in list(self.employees.items()) if not self._generated(key))

    def listed_requests(self) -> Iterator[dict]:
        for i in range(1, self.count + 1):
            rng = self._rng(-i)
            for n in range(4):
                month = rng.randint(1, 12)
                status = rng.choice(["approved", "requested", "canceled"])
                yield {"id": f"{i}-{n}", "employeeId": str(i), "name": f"First{i} Last{i}",
                       "status": {"lastChanged": f"2026-{month:02d}-01", "lastChangedByUserId": "1", "status": status},
                       "start": f"2026-{month:02d}-01", "end": f"2026-{month:02d}-02", "created": f"2026-{month:02d}-01",
                       "type": {"id": "78", "name": rng.choice(["Vacation", "Sick"])},
                       "amount": {"unit": "days", "amount": "2"}, "notes": {}}
        yield from list(self.time_off_requests)

    def balance(self, employee_id: str, *args, **kwargs) -> None:
        if employee_id not in self.balances and self._generated(employee_id):
            self.balances[employee_id] = self._made_up_balances(employee_id)
        super().balance(employee_id, *args, **kwargs)

    def balance_lines(self, employee_id: str) -> list[dict] | None:
        if employee_id in self.balances or employee_id in self.employees:
            return self.balances.get(employee_id, [])
        return self._made_up_balances(employee_id) if self._generated(employee_id) else None

    def _made_up_balances(self, employee_id: str) -> list[dict]:
        rng = self._rng(10_000_000 + int(employee_id))
        return [{"timeOffType": "78", "name": "Vacation", "units": "days", "balance": str(rng.randint(0, 30)),
                 "policyType": "accruing", "usedYearToDate": "0"},
                {"timeOffType": "79", "name": "Sick", "units": "days", "balance": str(rng.randint(0, 10)),
                 "policyType": "accruing", "usedYearToDate": "0"}]

    def _generated(self, employee_id: str) -> bool:
        return employee_id.isdigit() and 1 <= int(employee_id) <= self.count
