"""A local Merge HRIS API, answering as docs.merge.dev documents it: `Authorization: Bearer <API key>` and
`X-Account-Token: <linked account token>` on every call (401 when either is wrong or revoked), the common models
under /api/hris/v1 (employees, time-off, time-off-balances, locations) paged with an opaque `cursor` and `next`,
page_size up to 100, `expand` of the related objects asked for. Knobs: a 429 with Retry-After, a page that
fails with 500, a revoked key, and every call kept."""
from __future__ import annotations

import base64
import copy

from tests.fakes.http import Call, FakeService

ROOT = "/api/hris/v1"


class FakeMerge(FakeService):
    def __init__(self, api_key: str = "merge-test-key-123", account_token: str = "linked-account-token-456"):
        self.api_key, self.account_token = api_key, account_token
        self.employees: dict[str, dict] = {}   # Merge id -> Employee (related objects as ids)
        self.locations: dict[str, dict] = {}
        self.time_off: dict[str, dict] = {}
        self.balances: dict[str, dict] = {}
        self.employments: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.throttle: set[str] = set()          # paths answered 429 once
        self.broken_page: tuple[str, int] | None = None  # (path, page number from 1) answered 500
        self.revoked = False
        super().__init__()

    def answer(self, call: Call):
        if (self.revoked or call.headers.get("Authorization") != f"Bearer {self.api_key}"
                or call.headers.get("X-Account-Token") != self.account_token):
            return 401, {"detail": "Invalid token."}, None
        if call.path in self.throttle:
            self.throttle.discard(call.path)
            return 429, {"detail": "Request was throttled."}, {"Retry-After": "1"}
        models = {"/employees": self.employees, "/time-off": self.time_off, "/time-off-balances": self.balances,
                  "/locations": self.locations}
        path = call.path[len(ROOT):] if call.path.startswith(ROOT) else None
        if call.method != "GET" or path not in models:
            return 404, {"detail": "Not found."}, None
        size = min(int(call.query.get("page_size", 100)), 100)
        start = int(base64.b64decode(call.query["cursor"]).decode()) if call.query.get("cursor") else 0
        if self.broken_page == (path, start // size + 1):
            return 500, {"detail": "Internal error"}, None
        objects = list(models[path].values())
        page = [self._remote(self._expanded(o, call.query.get("expand", "")), call.query.get("remote_fields", ""))
                for o in objects[start:start + size]]
        more = start + size < len(objects)
        return 200, {"next": base64.b64encode(str(start + size).encode()).decode() if more else None,
                     "previous": None, "results": page}, None

    def _expanded(self, model: dict, expand: str) -> dict:
        model = copy.deepcopy(model)
        for name in filter(None, expand.split(",")):
            related = {"employee": self.employees, "manager": self.employees, "employments": self.employments,
                       "groups": self.groups, "work_location": self.locations}[name]
            held = model.get(name)
            if isinstance(held, list):
                model[name] = [copy.deepcopy(related[i]) for i in held]
            elif held is not None:
                model[name] = copy.deepcopy(related[held])
        return model

    @staticmethod
    def _remote(model: dict, fields: str) -> dict:
        """remote_fields: the HR system's own value of an enum field instead of Merge's normalised one."""
        remote = model.pop("_remote", {})
        for name in filter(None, fields.split(",")):
            if name in remote:
                model[name] = remote[name]
        return model

    @property
    def asked(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]

    # --- filling it -------------------------------------------------------------------------------------------

    def location(self, merge_id: str, name: str, city: str = "", country: str | None = None) -> None:
        self.locations[merge_id] = {"id": merge_id, "remote_id": f"loc-{merge_id}", "name": name, "city": city,
                                    "country": country, "location_type": "WORK"}

    def hire(self, remote_id: str, first: str, last: str, email: str, location: str | None, hired: str,
             manager: str | None = None, status: str = "ACTIVE", employment: str = "FULL_TIME",
             terminated: str | None = None, department: str | None = None, **fields) -> str:
        """An employee known to the HR system as remote_id; Merge gives it an id of its own (m-<remote_id>)."""
        merge_id = f"m-{remote_id}"
        self.employments[f"job-{remote_id}"] = {"id": f"job-{remote_id}", "employee": merge_id,
                                                "employment_type": employment,
                                                "effective_date": f"{hired}T00:00:00Z"}
        groups = []
        if department:
            self.groups[f"g-{department}"] = {"id": f"g-{department}", "name": department, "type": "DEPARTMENT"}
            groups.append(f"g-{department}")
        self.employees[merge_id] = {
            "id": merge_id, "remote_id": remote_id, "first_name": first, "last_name": last,
            "display_full_name": f"{first} {last}", "work_email": email, "work_location": location,
            "manager": f"m-{manager}" if manager else None, "employments": [f"job-{remote_id}"], "groups": groups,
            "employment_status": status, "hire_date": f"{hired}T00:00:00Z", "start_date": f"{hired}T00:00:00Z",
            "termination_date": f"{terminated}T00:00:00Z" if terminated else None, "remote_was_deleted": False,
            **fields}
        return merge_id

    def request_time_off(self, remote_id: str, employee: str, request_type: str | None, start: str, end: str,
                         amount, units: str = "DAYS", status: str = "APPROVED", remote_type: str | None = None,
                         **fields) -> None:
        self.time_off[f"t-{remote_id}"] = {
            "id": f"t-{remote_id}", "remote_id": remote_id, "employee": f"m-{employee}", "approver": None,
            "status": status, "units": units, "amount": amount, "request_type": request_type,
            "start_time": f"{start}T00:00:00Z", "end_time": f"{end}T00:00:00Z", "remote_was_deleted": False,
            "_remote": {"request_type": remote_type or request_type}, **fields}

    def balance(self, employee: str, policy_type: str | None, hours, used=0, remote_type: str | None = None) -> None:
        key = f"b-{employee}-{remote_type or policy_type}"
        self.balances[key] = {"id": key, "remote_id": key, "employee": f"m-{employee}", "balance": hours,
                              "used": used, "policy_type": policy_type, "remote_was_deleted": False,
                              "_remote": {"policy_type": remote_type or policy_type}}
