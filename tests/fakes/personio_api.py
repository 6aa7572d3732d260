"""A local Personio API v1, answering as developer.personio.de documents it: POST /v1/auth with the API
credentials' client_id and client_secret gives a bearer token (401 for wrong or revoked credentials); GET
/v1/company/employees (limit up to 100, offset counting items, attributes as {"label", "value"} pairs),
/v1/company/time-offs (start_date/end_date, limit up to 200) and /v1/company/employees/{id}/absences/balance.
Knobs: a 429 with Retry-After, a page that fails with 500, credentials revoked, and every call kept."""
from __future__ import annotations

import copy
import re
import secrets

from tests.fakes.http import Call, FakeService

LIMITS = {"/v1/company/employees": 100, "/v1/company/time-offs": 200}


def attribute(label: str, value) -> dict:
    return {"label": label, "value": value}


class FakePersonio(FakeService):
    def __init__(self, client_id: str = "papi-client-1", client_secret: str = "papi-secret-789"):
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: set[str] = set()
        self.employees: dict[str, dict] = {}      # id -> Employee attributes
        self.time_offs: list[dict] = []           # TimeOffPeriod attributes
        self.balances: dict[str, list[dict]] = {}
        self.throttle: set[str] = set()           # paths answered 429 once
        self.broken_page: tuple[str, int] | None = None  # (path, page number from 1) answered 500
        self.page_limit: int | None = None        # a smaller largest page (so tests page with few items)
        self.offset_counts_pages = False          # time-offs' offset taken as a page number, as seen in the wild
        super().__init__()

    def answer(self, call: Call):
        if call.method == "POST" and call.path == "/v1/auth":
            body = call.body or {}
            if (body.get("client_id"), body.get("client_secret")) != (self.client_id, self.client_secret):
                return 401, {"success": False, "error": {"code": 0, "message": "Wrong credentials"}}, None
            token = secrets.token_hex(16)
            self.tokens.add(token)
            return 200, {"success": True, "data": {"token": token}}, None
        auth = call.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return 401, {"success": False, "error": {"code": 0, "message": "Unauthorized"}}, None
        if call.path in self.throttle:
            self.throttle.discard(call.path)
            return 429, {"success": False, "error": {"code": 429, "message": "Too many requests"}}, \
                {"Retry-After": "1"}
        if call.method == "GET" and call.path in LIMITS:
            return self._page(call)
        match = re.fullmatch(r"/v1/company/employees/([^/]+)/absences/balance", call.path)
        if call.method == "GET" and match:
            if match.group(1) not in self.employees:
                return 404, {"success": False, "error": {"code": 404, "message": "Employee not found"}}, None
            return 200, {"success": True, "data": self.balances.get(match.group(1), [])}, None
        return 404, {"success": False, "error": {"code": 404, "message": "Not found"}}, None

    def _page(self, call: Call):
        limit = min(int(call.query.get("limit", 50)), self.page_limit or LIMITS[call.path])
        offset = int(call.query.get("offset", 0))
        if self.offset_counts_pages and call.path.endswith("/time-offs"):
            offset *= limit
        if self.broken_page == (call.path, offset // limit + 1):
            return 500, {"success": False, "error": {"code": 500, "message": "Internal error"}}, None
        if call.path.endswith("/employees"):
            items = [{"type": "Employee", "attributes": copy.deepcopy(e)} for e in self.employees.values()]
        else:
            since, until = call.query.get("start_date", "0000"), call.query.get("end_date", "9999")
            items = [{"type": "TimeOffPeriod", "attributes": copy.deepcopy(t)} for t in self.time_offs
                     if t["end_date"][:10] >= since and t["start_date"][:10] <= until]
        pages = max(1, -(-len(items) // limit))
        return 200, {"success": True, "metadata": {"total_elements": len(items), "current_page": offset // limit,
                                                   "total_pages": pages},
                     "offset": offset, "limit": limit, "data": items[offset:offset + limit]}, None

    def revoke(self) -> None:
        """The API credentials deleted in Personio: tokens stop working and no new one is given."""
        self.tokens.clear()
        self.client_secret = secrets.token_hex(8)

    @property
    def asked(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]

    # --- filling it -------------------------------------------------------------------------------------------

    def hire(self, employee_id: int, first: str, last: str, email: str, office: str | None, hired: str,
             supervisor: int | None = None, status: str = "active", employment: str = "internal",
             terminated: str | None = None, department: str | None = None, hours: float = 40,
             full_time_hours: float = 40, **dynamic) -> None:
        self.employees[str(employee_id)] = {
            "id": attribute("ID", employee_id), "first_name": attribute("First name", first),
            "last_name": attribute("Last name", last), "preferred_name": attribute("Preferred name", ""),
            "email": attribute("Email", email), "status": attribute("Status", status),
            "employment_type": attribute("Employment type", employment),
            "hire_date": attribute("Hire date", f"{hired}T00:00:00+01:00"),
            "termination_date": attribute("Termination date", f"{terminated}T00:00:00+01:00" if terminated
                                          else None),
            "contract_end_date": attribute("Contract ends", None),
            "office": attribute("Office", {"type": "Office", "attributes": {"id": 7, "name": office}}
                                if office else None),
            "department": attribute("Department", {"type": "Department", "attributes": {"id": 3, "name":
                                                                                          department}}
                                    if department else None),
            "supervisor": attribute("Supervisor", {"type": "Employee", "attributes": {
                "id": attribute("ID", supervisor)}} if supervisor else None),
            "weekly_working_hours": attribute("Weekly hours", str(hours)),
            "full_time_weekly_working_hours": attribute("Full-time weekly hours", str(full_time_hours)),
            **{name: attribute(name, v) for name, v in dynamic.items()}}

    def absence(self, period_id: int, employee_id: int, type_name: str, start: str, end: str, days,
                status: str = "approved", type_id: int = 1) -> None:
        self.time_offs = [t for t in self.time_offs if t["id"] != period_id]
        self.time_offs.append({
            "id": period_id, "status": status, "start_date": f"{start}T00:00:00+01:00",
            "end_date": f"{end}T00:00:00+01:00", "days_count": days, "half_day_start": 0, "half_day_end": 0,
            "time_off_type": {"type": "TimeOffType", "attributes": {"id": type_id, "name": type_name,
                                                                   "category": None}},
            "employee": {"type": "Employee", "attributes": {"id": attribute("ID", employee_id)}},
            "created_by": "API", "created_at": f"{start}T09:00:00+01:00"})

    def balance(self, employee_id: int, type_name: str, days, type_id: int = 1) -> None:
        lines = [b for b in self.balances.get(str(employee_id), []) if b["name"] != type_name]
        lines.append({"id": type_id, "name": type_name, "category": None, "balance": days})
        self.balances[str(employee_id)] = lines
