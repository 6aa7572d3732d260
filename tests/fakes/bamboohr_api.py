"""A local BambooHR, answering as BambooHR's REST API documents it (documentation.bamboohr.com/reference): HTTP
Basic with the API key as user name and any password, JSON on `Accept: application/json`, the custom report
(POST .../v1/reports/custom), time-off requests (GET .../v1/time_off/requests/?start&end) and the time-off
calculator (GET .../v1/employees/{id}/time_off/calculator?end). Knobs: a 429 with Retry-After, refusals, and
counters of what was asked."""
from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeBambooHR:
    def __init__(self, company: str = "acme", api_key: str = "bamboo-test-key-123"):
        self.company, self.api_key = company, api_key
        self.employees: dict[str, dict] = {}        # id -> every field
        self.requests: list[dict] = []               # time-off requests as the API returns them
        self.balances: dict[str, list[dict]] = {}    # employee id -> calculator lines
        self.calls: list[str] = []
        self.throttle: set[str] = set()              # paths (without query) answered 429 once
        self.forbid = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def _route(self, method):
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                fake.calls.append(f"{method} {parts.path}")
                expected = "Basic " + base64.b64encode(f"{fake.api_key}:x".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send(401, {"error": "Invalid API key"})
                prefix = f"/api/gateway.php/{fake.company}/v1"
                if not parts.path.startswith(prefix + "/"):
                    return self._send(404, {"error": "Unknown company"})
                if fake.forbid:
                    return self._send(403, {"error": "The API key's user may not read time off"})
                if parts.path in fake.throttle:
                    fake.throttle.discard(parts.path)
                    return self._send(429, {"error": "Too many requests"}, {"Retry-After": "1"})
                path = parts.path[len(prefix):]
                if method == "POST" and path == "/reports/custom":
                    length = int(self.headers.get("Content-Length") or 0)
                    fields = json.loads(self.rfile.read(length) or b"{}").get("fields", [])
                    rows = [{f: person.get(f) for f in fields} for person in fake.employees.values()]
                    return self._send(200, {"title": "Report", "fields": [{"id": f} for f in fields],
                                            "employees": rows})
                if method == "GET" and path == "/time_off/requests/":
                    start, end = query.get("start", "0000"), query.get("end", "9999")
                    return self._send(200, [r for r in fake.requests if r["end"] >= start and r["start"] <= end])
                match = re.fullmatch(r"/employees/([^/]+)/time_off/calculator", path)
                if method == "GET" and match:
                    if match.group(1) not in fake.employees:
                        return self._send(404, {"error": "Employee not found"})
                    end = query.get("end")
                    return self._send(200, [{**line, "end": end} for line in fake.balances.get(match.group(1), [])])
                return self._send(404, {"error": "Not found"})

            def _send(self, status, payload, headers=None):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

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
        self.requests = [r for r in self.requests if r["id"] != request_id]
        self.requests.append({
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

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
