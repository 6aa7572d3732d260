"""Employee records in: HR-system CSV exports (employees, entitlements, balances, leave, public holidays) and the
rows of a records source (knowledge.people.staged, which streams them), checked by knowledge.people.validation and
written all-or-nothing, one file or several in one transaction; only rows that differ are written."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import psycopg

from knowledge.database.connection import Database
from knowledge.errors import HRBotError
from knowledge.database.audit import audit
from knowledge.people.erasures import lift_erasure
from knowledge.people.colleagues import refresh_colleague_names
from knowledge.people.validation import KINDS, RecordsRejected, detect_kind, parse_csv

__all__ = ["KINDS", "RecordsRejected", "ImportResult", "FileImport", "import_csv", "import_many", "import_files"]

# kind -> (table, [(column, the checked row's key)]); the CSV import writes one row at a time (UPSERT), a records
# source its staged rows at once (knowledge.people.staged), both with the same conflict rules (CONFLICT).
TARGETS = {
    "employees": ("employees", [(c, c) for c in ("employee_id", "slack_user_id", "email", "name", "country",
                                                 "department", "employment_type", "fte", "hire_date", "end_date",
                                                 "manager_id")]),
    "entitlements": ("leave_entitlements", [(c, c) for c in ("employee_id", "leave_type", "year", "base_days",
                                                             "carried_over")]),
    "leave": ("leave_records", [(c, c) for c in ("request_id", "employee_id", "leave_type", "start_date",
                                                 "end_date", "days", "status", "source_id")]),
    "balances": ("leave_balances", [(c, c) for c in ("employee_id", "leave_type", "year", "balance", "as_of")]),
    "public_holidays": ("public_holidays", [("country", "country"), ("day", "date"), ("name", "name")]),
}
CONFLICT = {
    "employees": """
ON CONFLICT (employee_id) DO UPDATE SET
    slack_user_id = coalesce(excluded.slack_user_id, employees.slack_user_id),  -- a source may not know it
    email = excluded.email, name = excluded.name, country = excluded.country, department = excluded.department,
    employment_type = excluded.employment_type, fte = excluded.fte, hire_date = excluded.hire_date,
    end_date = excluded.end_date, manager_id = excluded.manager_id, updated_at = now()
WHERE (employees.slack_user_id, employees.email, employees.name, employees.country, employees.department,
       employees.employment_type, employees.fte, employees.hire_date, employees.end_date, employees.manager_id)
      IS DISTINCT FROM
      (coalesce(excluded.slack_user_id, employees.slack_user_id), excluded.email, excluded.name, excluded.country,
       excluded.department,
       excluded.employment_type, excluded.fte, excluded.hire_date, excluded.end_date, excluded.manager_id)""",
    "entitlements": """
ON CONFLICT (employee_id, leave_type, year) DO UPDATE SET
    base_days = excluded.base_days, carried_over = excluded.carried_over
WHERE (leave_entitlements.base_days, leave_entitlements.carried_over)
      IS DISTINCT FROM (excluded.base_days, excluded.carried_over)""",
    "leave": """
ON CONFLICT (request_id) DO UPDATE SET
    employee_id = excluded.employee_id, leave_type = excluded.leave_type, start_date = excluded.start_date,
    end_date = excluded.end_date, days = excluded.days, status = excluded.status,
    source_id = coalesce(excluded.source_id, leave_records.source_id)
WHERE (leave_records.employee_id, leave_records.leave_type, leave_records.start_date, leave_records.end_date,
       leave_records.days, leave_records.status, leave_records.source_id)
      IS DISTINCT FROM (excluded.employee_id, excluded.leave_type, excluded.start_date, excluded.end_date,
                        excluded.days, excluded.status, coalesce(excluded.source_id, leave_records.source_id))""",
    "balances": """
ON CONFLICT (employee_id, leave_type, year) DO UPDATE SET balance = excluded.balance, as_of = excluded.as_of
WHERE (leave_balances.balance, leave_balances.as_of) IS DISTINCT FROM (excluded.balance, excluded.as_of)""",
    "public_holidays": """
ON CONFLICT (country, day) DO UPDATE SET name = excluded.name WHERE public_holidays.name <> excluded.name""",
}
UPSERT = {kind: f"INSERT INTO {table} ({', '.join(c for c, _ in columns)}) "
                f"VALUES ({', '.join(f'%({key})s' for _, key in columns)}){CONFLICT[kind]}"
          for kind, (table, columns) in TARGETS.items()}
KNOWN_EMPLOYEES = "SELECT employee_id FROM employees"
IDENTITIES = "SELECT employee_id, slack_user_id, email FROM employees"
LEAVE_TYPES = "SELECT leave_type FROM leave_types"
UPSERT_LEAVE_TYPE = """
INSERT INTO leave_types (leave_type, label) VALUES (%(leave_type)s, %(label)s)
ON CONFLICT (leave_type) DO UPDATE SET label = excluded.label WHERE leave_types.label <> excluded.label"""
@dataclass
class ImportResult:
    kind: str
    rows: int
    changed: int
    name: str | None = None
    removed: int = 0  # leave requests a records source no longer lists


def _context(db: Database, profile) -> tuple[set[str], set[str], set[str] | None, dict]:
    """What validation checks against: stored employees, leave types, locations, Slack ids and emails."""
    with db.owner.connection() as conn:
        known = {r[0] for r in conn.execute(KNOWN_EMPLOYEES)}
        leave_types = {r[0] for r in conn.execute(LEAVE_TYPES)}
        identities = {}
        for employee_id, slack_user_id, email in conn.execute(IDENTITIES):
            if slack_user_id:
                identities[("slack", slack_user_id)] = employee_id
            identities[("email", email.lower())] = employee_id
    locations = None
    if profile is not None:
        leave_types, locations = set(profile.leave_types), set(profile.locations)
    return known, leave_types, locations, identities


def import_csv(db: Database, data: bytes, actor: str = "unknown", name: str | None = None,
               profile=None) -> ImportResult:
    """Validate, then write every row in one transaction; any error means nothing is written. With a company
    profile, locations must be the profile's and its leave types are the ones accepted (and kept in the
    database)."""
    return import_many(db, [(name, data)], actor=actor, profile=profile)[0]


def import_many(db: Database, files: list[tuple[str | None, bytes]], actor: str = "unknown",
                profile=None) -> list[ImportResult]:
    """Several exports as one: validated together in dependency order (employees first, so a leave file may
    name people from an employees file of the same run), then written in one transaction. Any error in any
    file means nothing at all is written; the errors name their file and line."""
    def parse(name, data, known, leave_types, locations, identities):
        try:
            return parse_csv(data, known, leave_types, locations, identities)
        except RecordsRejected as exc:
            return None, [], exc.errors

    return _import(db, [(name, data) for name, data in sorted(files, key=_order)], parse, actor, profile)


def _import(db: Database, items: list[tuple], parse, actor: str, profile) -> list[ImportResult]:
    known, leave_types, locations, identities = _context(db, profile)
    parsed, errors = [], []
    for name, item in items:
        kind, rows, problems = parse(name, item, known, leave_types, locations, identities)
        prefix = f"{name}: " if name and len(items) > 1 else ""
        errors += [prefix + p for p in problems]
        if kind == "employees":
            known |= {r["employee_id"] for r in rows}
            for r in rows:
                if r["slack_user_id"]:
                    identities[("slack", r["slack_user_id"])] = r["employee_id"]
                identities[("email", r["email"].lower())] = r["employee_id"]
        parsed.append((name, kind, rows))
    if errors:
        raise RecordsRejected(errors)
    try:
        return _write(db, parsed, actor, profile)
    except (psycopg.IntegrityError, psycopg.DataError) as exc:  # what validation missed: still the admin's to fix
        detail = exc.diag.message_detail or exc.diag.message_primary or str(exc)
        raise RecordsRejected([f"the database refused a row: {detail}"]) from None


def _order(item: tuple[str | None, bytes]) -> int:
    try:
        header = next(csv.reader(io.StringIO(item[1].decode("utf-8-sig"))), [])
        return IMPORT_ORDER.index(detect_kind(header))
    except (HRBotError, UnicodeDecodeError, csv.Error, ValueError):
        return len(IMPORT_ORDER)  # reported when parsed


def _write(db: Database, parsed: list[tuple], actor: str, profile) -> list[ImportResult]:
    """Where records files are committed (a records source's rows: knowledge.people.staged): with them, in the same
    transaction, the colleagues' name digests the "someone else" guard looks names up in, so the guard never
    lags behind the records and a failed import changes neither."""
    results = []
    key = db.binding_key  # read before the transaction: the owner's pool may hold only two connections
    with db.owner.connection() as conn:
        with conn.cursor() as cur:
            if profile is not None:
                for leave_type, label in profile.leave_types.items():
                    cur.execute(UPSERT_LEAVE_TYPE, {"leave_type": leave_type, "label": label})
            for name, kind, rows in parsed:
                changed = 0
                for row in rows:
                    cur.execute(UPSERT[kind], {**row, "source_id": None})
                    changed += cur.rowcount
                if kind == "employees":  # imported by hand: an erasure no longer keeps them out
                    lift_erasure(conn, [i for r in rows for i in (r["employee_id"], r["email"], r["slack_user_id"])])
                audit(conn, actor, "records_import", name, kind=kind, rows=len(rows), changed=changed)
                results.append(ImportResult(kind, len(rows), changed, name))
            if any(kind == "employees" for _, kind, _ in parsed):
                refresh_colleague_names(conn, key)
    return results


IMPORT_ORDER = ["employees", "public_holidays", "entitlements", "balances", "leave"]  # people before their rows


@dataclass
class FileImport:
    name: str
    result: ImportResult | None = None
    error: str | None = None  # why the file was rejected (nothing of it was written)


def import_files(db: Database, files: list[tuple[str, bytes]], actor: str, profile=None) -> list[FileImport]:
    """Records files from a folder, in dependency order (employees first, whatever their names); each is
    validated and written whole or not at all, and a rejected file does not stop the others (the result says
    exactly which were written)."""
    done = []
    for name, data in sorted(files, key=_order):
        try:
            done.append(FileImport(name, import_csv(db, data, actor=actor, name=name, profile=profile)))
        except HRBotError as exc:
            done.append(FileImport(name, error=str(exc)))
    return done
