"""Employee records out: one person's records, read as the restricted role and bound to that person by row-level
security (the import side is knowledge.people.imports)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterator

import psycopg

from knowledge.database.connection import Database
from knowledge.people.balances import Employee, Entitlement, LeaveRecord, OfficialBalance

RECORDS_ROLE = "hrbot_records"


# --- Reading one person's records ---------------------------------------------------------------------------

EMPLOYEE_FOR_SLACK_USER = "SELECT hrbot_employee_for_slack_user(%(slack_user_id)s)"
EMPLOYEE_FOR_EMAIL = "SELECT hrbot_employee_for_email(%(email)s)"
# The asker and the proof that the application (which holds the binding key) named them: without a valid proof
# the policies show no row, whatever hrbot.employee_id says (infra/migrations/0011_least_privilege.sql).
BIND_ASKER = """
SELECT set_config('hrbot.employee_id', %(employee_id)s, true), set_config('hrbot.binding', %(binding)s, true)"""
OWN_PROFILE = """
SELECT employee_id, name, email, country, fte, hire_date, end_date, department, employment_type, manager_id,
       slack_user_id
FROM employees"""  # no WHERE on purpose: row-level security returns the asker's row only
OWN_ENTITLEMENTS = "SELECT leave_type, year, base_days, carried_over FROM leave_entitlements"
OWN_BALANCES = "SELECT leave_type, year, balance, as_of FROM leave_balances"
OWN_LEAVE = """
SELECT request_id, leave_type, start_date, end_date, days, status FROM leave_records ORDER BY start_date"""
HOLIDAYS = "SELECT day, name FROM public_holidays WHERE country = %(country)s ORDER BY day"


@dataclass
class PersonalRecords:
    employee: Employee
    entitlements: list[Entitlement]
    leave: list[LeaveRecord]
    holidays: dict[date, str]
    official: list[OfficialBalance] = field(default_factory=list)  # balances the HR system computed


class RecordsReader:
    """Reads personal tables as the non-superuser role hrbot_records, bound to one employee per transaction."""

    def __init__(self, db: Database):
        self.db = db

    @contextmanager
    def _as_records_role(self) -> Iterator[psycopg.Connection]:
        with self.db.connection() as conn:
            conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(RECORDS_ROLE)))
            yield conn

    def resolve(self, slack_user_id: str | None, email: str | Callable[[], str | None] | None = None) -> str | None:
        """The employee id for a verified Slack user: the stored Slack id first, then the profile's work email
        (which may be a callable, called only if needed and outside any transaction)."""
        if slack_user_id:
            with self._as_records_role() as conn:
                row = conn.execute(EMPLOYEE_FOR_SLACK_USER, {"slack_user_id": slack_user_id}).fetchone()
            if row and row[0]:
                return row[0]
        if callable(email):
            email = email()
        if email:
            with self._as_records_role() as conn:
                row = conn.execute(EMPLOYEE_FOR_EMAIL, {"email": email.strip()}).fetchone()
            if row and row[0]:
                return row[0]
        return None

    def bind(self, conn: psycopg.Connection, employee_id: str) -> None:
        """Bind this transaction to one employee: the policies then show that employee's rows and no others."""
        proof = self.db.binding_key.proof(employee_id, conn.info.backend_pid)
        conn.execute(BIND_ASKER, {"employee_id": employee_id, "binding": proof})

    def load(self, employee_id: str) -> PersonalRecords | None:
        with self._as_records_role() as conn:
            self.bind(conn, employee_id)
            profile = conn.execute(OWN_PROFILE).fetchall()
            if len(profile) != 1:
                return None
            employee = Employee(*profile[0][:6], end_date=profile[0][6], department=profile[0][7],
                                employment_type=profile[0][8], manager_id=profile[0][9],
                                slack_user_id=profile[0][10])
            entitlements = [Entitlement(*r) for r in conn.execute(OWN_ENTITLEMENTS).fetchall()]
            leave = [LeaveRecord(*r) for r in conn.execute(OWN_LEAVE).fetchall()]
            holidays = dict(conn.execute(HOLIDAYS, {"country": employee.country}).fetchall())
            official = [OfficialBalance(*r) for r in conn.execute(OWN_BALANCES).fetchall()]
        return PersonalRecords(employee, entitlements, leave, holidays, official)
