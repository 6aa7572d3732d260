"""Employee records out: one person's records, read as the restricted role and bound to that person by row-level
security (the import side is knowledge.people.imports)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterator

import psycopg

from knowledge.database.audit import audit
from knowledge.database.connection import Database
from knowledge.people.leave import Employee, Entitlement, LeaveRecord, OfficialBalance

RECORDS_ROLE = "hrbot_records"


# --- Reading one person's records ---------------------------------------------------------------------------

EMPLOYEE_FOR_SLACK_USER = "SELECT hrbot_employee_for_slack_user(%(slack_user_id)s)"
# Binds a Slack account to the employee with this work email, only while nobody is bound to them, and only with the
# application's proof; audited as slack_bind (infra/migrations/0016_security.sql).
BIND_SLACK_USER = "SELECT hrbot_bind_slack_user(%(slack_user_id)s, %(email)s, %(issued)s, %(proof)s)"
SLACK_BINDING = "slack-binding"
# The operator's lookup (`hrbot ask --as U... --email ...`): read as the owner, binds nobody.
EMPLOYEE_FOR_EMAIL = "SELECT employee_id FROM employees WHERE lower(email) = lower(%(email)s)"
BINDINGS = """
SELECT employee_id, name, email, slack_user_id FROM employees
WHERE %(who)s::text IS NULL OR employee_id = %(who)s OR slack_user_id = %(who)s OR lower(email) = lower(%(who)s)
ORDER BY employee_id LIMIT %(limit)s"""
UNBIND = """
WITH old AS (SELECT employee_id, slack_user_id FROM employees
             WHERE employee_id = %(employee_id)s AND slack_user_id IS NOT NULL FOR UPDATE)
UPDATE employees e SET slack_user_id = NULL FROM old WHERE e.employee_id = old.employee_id
RETURNING old.slack_user_id"""
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

    def resolve(self, slack_user_id: str | None, email: str | None = None,
                slack_email: Callable[[], str | None] | None = None) -> str | None:
        """The employee id of the asker. A Slack id bound to an employee always wins. Otherwise:
        - slack_email (the work email of a verified, full member's Slack profile; called only if needed, outside
          any transaction) binds this Slack id to the employee with that email, only if that employee has no Slack
          id yet: a second account with the same email, in any letter case, gets nothing;
        - email (given by an operator on the command line) is looked up as the owner and binds nobody."""
        if slack_user_id:
            with self._as_records_role() as conn:
                row = conn.execute(EMPLOYEE_FOR_SLACK_USER, {"slack_user_id": slack_user_id}).fetchone()
            if row and row[0]:
                return row[0]
        if slack_user_id and slack_email is not None:
            found = slack_email()
            if found:
                return self._bind(slack_user_id, found.strip())
            return None
        if email:
            with self.db.require_owner("look an employee up by email").connection() as conn:
                row = conn.execute(EMPLOYEE_FOR_EMAIL, {"email": email.strip()}).fetchone()
            return row[0] if row else None
        return None

    def _bind(self, slack_user_id: str, email: str) -> str | None:
        issued = int(time.time())
        message = f"{slack_user_id}\n{email}\n{issued}".encode()
        proof = self.db.binding_key.mac(SLACK_BINDING, message).hex()
        with self._as_records_role() as conn:
            row = conn.execute(BIND_SLACK_USER, {"slack_user_id": slack_user_id, "email": email, "issued": issued,
                                                 "proof": proof}).fetchone()
        return row[0] if row and row[0] else None

    def bindings(self, who: str | None = None, limit: int = 200) -> list[tuple[str, str, str, str | None]]:
        """(employee id, name, email, Slack id) of the employees `who` names (an id, a Slack id, an email), or of
        everyone: what an admin checks before resetting a binding. Read as the owner."""
        with self.db.require_owner("list Slack bindings").connection() as conn:
            return [tuple(r) for r in conn.execute(BINDINGS, {"who": who, "limit": limit}).fetchall()]

    def unbind(self, employee_id: str, actor: str) -> str | None:
        """Reset an employee's Slack binding (a wrong account was bound): their next DM binds again by email. The
        Slack id that was bound, or None if none was. Audited."""
        from knowledge.errors import NotFound

        with self.db.require_owner("reset a Slack binding").connection() as conn:
            row = conn.execute(UNBIND, {"employee_id": employee_id}).fetchone()
            if row:
                audit(conn, actor, "slack_unbind", employee_id, slack_user_id=row[0])
            elif conn.execute("SELECT 1 FROM employees WHERE employee_id = %s", [employee_id]).fetchone() is None:
                raise NotFound(f"No employee has the id {employee_id!r} (`hrbot records bindings` lists them).")
        return row[0] if row else None

    def bind(self, conn: psycopg.Connection, employee_id: str) -> None:
        """Bind this transaction to one employee: the policies then show that employee's rows and no others."""
        proof = self.db.binding_key.proof(employee_id, conn.info.backend_pid)
        conn.execute(BIND_ASKER, {"employee_id": employee_id, "binding": proof})

    @contextmanager
    def bound(self, employee_id: str) -> Iterator[psycopg.Connection]:
        """A transaction as the records role, bound to one employee (the team view calls its function here; a
        person's own reminder choice is read and written here, people/reminders.py)."""
        with self._as_records_role() as conn:
            self.bind(conn, employee_id)
            yield conn

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
