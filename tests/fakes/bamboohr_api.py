"""A local BambooHR, answering as BambooHR's REST API documents it (documentation.bamboohr.com/reference): HTTP
Basic with the API key as user name and any password, JSON on `Accept: application/json`, the custom report
(POST .../v1/reports/custom), time-off requests (GET .../v1/time_off/requests/?start&end) and the time-off
calculator (GET .../v1/employees/{id}/time_off/calculator?end). Knobs: a 429 with Retry-After, refusals, and
counters of what was asked."""
from __future__ import annotations

import base64
import re

from tests.fakes.http import Call, FakeService


class FakeBambooHR(FakeService):
    def __init__(self, company: str = "acme", api_key: str = "bamboo-test-key-123"):
        self.company, self.api_key = company, api_key
        self.employees: dict[str, dict] = {}        # id -> every field
        self.time_off_requests: list[dict] = []      # as the API returns them
        self.balances: dict[str, list[dict]] = {}    # employee id -> calculator lines
        self.throttle: set[str] = set()              # paths (without query) answered 429 once
        self.forbid = False
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
            rows = [{f: person.get(f) for f in fields} for person in self.employees.values()]
            return 200, {"title": "Report", "fields": [{"id": f} for f in fields], "employees": rows}, None
        if call.method == "GET" and path == "/time_off/requests/":
            start, end = call.query.get("start", "0000"), call.query.get("end", "9999")
            return 200, [r for r in self.time_off_requests if r["end"] >= start and r["start"] <= end], None
        match = re.fullmatch(r"/employees/([^/]+)/time_off/calculator", path)
        if call.method == "GET" and match:
            if match.group(1) not in self.employees:
                return 404, {"error": "Employee not found"}, None
            end = call.query.get("end")
            return 200, [{**line, "end": end} for line in self.balances.get(match.group(1), [])], None
        return 404, {"error": "Not found"}, None

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
