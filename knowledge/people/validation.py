"""Employee records checked before anything is written, whichever way they come in (a CSV file, an HR system's
API, a SQL query): each problem named with where it is ("line 7", "employee 4021") and what to fix."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from knowledge.errors import HRBotError

KINDS = {
    "employees": ["employee_id", "slack_user_id", "email", "name", "country", "department", "employment_type",
                  "fte", "hire_date", "end_date", "manager_id"],
    "entitlements": ["employee_id", "leave_type", "year", "base_days", "carried_over"],
    "balances": ["employee_id", "leave_type", "year", "balance", "as_of"],
    "leave": ["request_id", "employee_id", "leave_type", "start_date", "end_date", "days", "status"],
    "public_holidays": ["country", "date", "name"],
}
REQUIRED = {  # checked in this order: a balances header also has every column entitlements require
    "employees": {"employee_id", "email", "name", "country", "hire_date"},
    "balances": {"employee_id", "leave_type", "year", "balance", "as_of"},
    "entitlements": {"employee_id", "leave_type", "year"},
    "leave": {"request_id", "employee_id", "leave_type", "start_date", "end_date", "days", "status"},
    "public_holidays": {"country", "date", "name"},
}
STATUSES = {"approved", "pending", "cancelled", "rejected"}
EMPLOYMENT_TYPES = {"permanent", "fixed_term", "contractor"}
LOCATION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class RecordsRejected(HRBotError):
    """A CSV failed validation; nothing was written. `errors` lists 'line N: problem' strings; total counts them
    when only the first few were kept (a records source of 100,000 rows keeps SHOWN)."""

    SHOWN = 50

    def __init__(self, errors: list[str], subject: str = "The file", total: int | None = None):
        self.errors = errors
        self.total = len(errors) if total is None else total
        shown = "\n".join(f"  {e}" for e in errors[:self.SHOWN])
        more = f"\n  ...and {self.total - self.SHOWN} more" if self.total > self.SHOWN else ""
        super().__init__(f"{subject} was not imported; nothing was changed. Fix these and try again:\n{shown}{more}")


def detect_kind(header: list[str]) -> str:
    columns = {h.strip().lower() for h in header}
    for kind, required in REQUIRED.items():
        if required <= columns:
            return kind
    raise RecordsRejected([
        "line 1: the header does not match any import format. Expected the columns of one of: "
        + "; ".join(f"{kind}: {', '.join(cols)}" for kind, cols in KINDS.items())])


def _given(value: str | None, column: str, errors: list[str], line: str, required: bool) -> str | None:
    """The value without surrounding space, or None when empty (an error when the column is required)."""
    value = (value or "").strip()
    if not value and required:
        errors.append(f"{line}: {column} is empty")
    return value or None


def _date(value: str, column: str, errors: list[str], line: str, required: bool = True) -> date | None:
    value = _given(value, column, errors, line, required)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{line}: {column} {value!r} is not a date (use YYYY-MM-DD)")
        return None


MOST_DAYS = Decimal(366)


def _number(value: str, column: str, errors: list[str], line: str, required: bool = True, places: int = 2,
            most: Decimal | None = MOST_DAYS) -> Decimal | None:
    """A non-negative number with at most `places` decimals and at most `most`: what the database would
    otherwise round away (0.0001 days) or refuse with a traceback (1e6 days) is reported with its line."""
    value = _given(value, column, errors, line, required)
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        errors.append(f"{line}: {column} {value!r} is not a number")
        return None
    if not number.is_finite():
        errors.append(f"{line}: {column} {value!r} is not a number")
        return None
    if number < 0:
        errors.append(f"{line}: {column} must not be negative (got {value})")
        return None
    if number != number.quantize(Decimal(1).scaleb(-places)):
        errors.append(f"{line}: {column} {value} has more than {places} decimal places")
        return None
    if most is not None and number > most:
        errors.append(f"{line}: {column} {value} is more than {most:f}")
        return None
    return number


def _signed(value: str, column: str, errors: list[str], line: str) -> Decimal | None:
    """A number of days that may be negative (a balance borrowed ahead), to two decimals."""
    text = (value or "").strip()
    negative = text.startswith("-")
    number = _number(text[1:] if negative else text, column, errors, line, most=Decimal(1000))
    if number is None:
        return None
    return -number if negative else number


def parse_csv(data: bytes, known_employees: set[str], leave_types: set[str],
              locations: set[str] | None = None, identities: dict | None = None) -> tuple[str, list[dict], list[str]]:
    """Validate a CSV export. Returns (kind, rows, errors); line numbers count the header as line 1.
    locations: the company profile's location codes (None: any well-formed code)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordsRejected(["line 1: the file is not UTF-8 text (save it as CSV UTF-8)"]) from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise RecordsRejected(["line 1: the file is empty"]) from None
    kind = detect_kind(header)
    columns = [h.strip().lower() for h in header]
    errors, raw_rows = [], []
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                errors.append(f"line {line}: expected {len(columns)} values, found {len(values)}")
                continue
            raw_rows.append((f"line {line}", dict(zip(columns, (v.strip() for v in values)))))
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: malformed CSV ({exc})")
    rows, problems = validate_rows(kind, raw_rows, known_employees, leave_types, locations, identities)
    errors += problems
    if not raw_rows and not errors:
        errors.append("line 2: the file has a header but no rows")
    return kind, rows, errors


def validate_rows(kind: str, raw_rows: list[tuple[str, dict]], known_employees: set[str], leave_types: set[str],
                  locations: set[str] | None = None, identities: dict | None = None) -> tuple[list[dict], list[str]]:
    """The checks every way records come in shares (a CSV file, an HR system's API, a SQL query): each raw row is
    (where it came from, e.g. "line 7" or "employee 4021", {column: text}). Returns (valid rows, errors)."""
    rows, errors, seen = [], [], {}
    file_employees = set()
    if kind == "employees":
        file_employees = {raw.get("employee_id", "") for _, raw in raw_rows}
    employees = known_employees | file_employees
    for line, raw in raw_rows:
        row = _validate(kind, raw, line, errors, employees, leave_types, locations)
        if row is None:
            continue
        key = _key(kind, row)
        if key in seen:
            errors.append(f"{line}: duplicate of {seen[key]} ({', '.join(map(str, key))})")
            continue
        seen[key] = line
        rows.append(row)
    if kind == "employees":
        _check_identities(rows, lines_of=seen, identities=identities or {}, errors=errors)
    return rows, errors


def _check_identities(rows: list[dict], lines_of: dict, identities: dict, errors: list[str]) -> None:
    """A Slack id or a work email (whatever its case) belongs to one employee: a clash with another row or
    with an employee already stored would link two people to one account."""
    claimed = dict(identities)  # ("slack" | "email", value) -> employee id
    for row in rows:
        line = lines_of[_key("employees", row)]
        for kind, value in (("slack", row["slack_user_id"]), ("email", (row["email"] or "").lower())):
            if not value:
                continue
            owner = claimed.get((kind, value))
            if owner is not None and owner != row["employee_id"]:
                what = "slack_user_id" if kind == "slack" else "email"
                errors.append(f"{line}: {what} {value!r} already belongs to employee {owner}")
            else:
                claimed[(kind, value)] = row["employee_id"]


def _key(kind: str, row: dict) -> tuple:
    return {
        "employees": lambda r: (r["employee_id"],),
        "entitlements": lambda r: (r["employee_id"], r["leave_type"], r["year"]),
        "balances": lambda r: (r["employee_id"], r["leave_type"], r["year"]),
        "leave": lambda r: (r["request_id"],),
        "public_holidays": lambda r: (r["country"], r["date"]),
    }[kind](row)


def _location(raw: dict, line: str, errors: list[str], locations: set[str] | None) -> str:
    code = (raw.get("country") or "").strip().upper()
    if not LOCATION_CODE.match(code):
        errors.append(f"{line}: country {raw.get('country')!r} must be a location code: two letters, "
                      "optionally with a region (see the company profile's locations)")
    elif locations is not None and code not in locations:
        errors.append(f"{line}: country {code!r} is not a location in the company profile (its locations: "
                      f"{', '.join(sorted(locations))})")
    return code


@dataclass(frozen=True)
class RowCheck:
    """One raw row being checked: where it came from, the errors found so far (each problem is appended with the
    row's place) and what it may name."""
    line: str
    errors: list[str]
    employees: set[str]
    leave_types: set[str]
    locations: set[str] | None

    def fail(self, problem: str) -> None:
        self.errors.append(f"{self.line}: {problem}")

    def date(self, raw: dict, column: str, required: bool = True) -> date | None:
        return _date(raw.get(column), column, self.errors, self.line, required=required)

    def number(self, raw: dict, column: str, default: str | None = None, **kwargs) -> Decimal | None:
        return _number(raw.get(column) or default, column, self.errors, self.line, **kwargs)


def _validate(kind, raw, line, errors, employees, leave_types, locations) -> dict | None:
    """One row of a kind, checked and typed; None when it has a problem (each one added to errors)."""
    before = len(errors)
    row = ROW_CHECKS[kind](raw, RowCheck(line, errors, employees, leave_types, locations))
    return row if len(errors) == before else None


def _employee(raw: dict, check: RowCheck) -> dict:
    for column in ("employee_id", "email", "name"):
        if not raw.get(column):
            check.fail(f"{column} is empty")
    row = dict(employee_id=raw.get("employee_id"), email=raw.get("email"), name=raw.get("name"),
               slack_user_id=raw.get("slack_user_id") or None, department=raw.get("department") or None,
               manager_id=raw.get("manager_id") or None)
    if row["email"] and "@" not in row["email"]:
        check.fail(f"email {row['email']!r} is not an email address")
    row["country"] = _location(raw, check.line, check.errors, check.locations)
    row["employment_type"] = raw.get("employment_type") or "permanent"
    if row["employment_type"] not in EMPLOYMENT_TYPES:
        check.fail(f"employment_type {row['employment_type']!r} must be one of " + ", ".join(sorted(EMPLOYMENT_TYPES)))
    fte = check.number(raw, "fte", "1", places=3, most=None)
    if fte is not None and not (0 < fte <= 1):
        check.fail(f"fte must be above 0 and at most 1 (got {fte})")
    row["fte"] = fte
    row["hire_date"] = check.date(raw, "hire_date")
    row["end_date"] = check.date(raw, "end_date", required=False)
    if row["hire_date"] and row["end_date"] and row["end_date"] < row["hire_date"]:
        check.fail("end_date is before hire_date")
    if row["manager_id"] and row["manager_id"] not in check.employees:
        check.fail(f"manager_id {row['manager_id']!r} is not a known employee")
    return row


def _public_holiday(raw: dict, check: RowCheck) -> dict:
    row = {"country": _location(raw, check.line, check.errors, check.locations),
           "date": check.date(raw, "date"), "name": raw.get("name")}
    if not row["name"]:
        check.fail("name is empty")
    return row


def _employees_leave(raw: dict, check: RowCheck) -> dict:
    """What every leave row starts with: a known employee and a leave type of the profile."""
    row = {"employee_id": raw.get("employee_id"), "leave_type": (raw.get("leave_type") or "").lower()}
    if row["employee_id"] not in check.employees:
        check.fail(f"unknown employee {row['employee_id']!r} (import employees first)")
    if row["leave_type"] not in check.leave_types:
        check.fail(f"unknown leave type {raw.get('leave_type')!r}; use one of " + ", ".join(sorted(check.leave_types)))
    return row


def _leave_year(raw: dict, check: RowCheck) -> dict:
    """An employee's leave of one type in one year (entitlements and balances)."""
    row = _employees_leave(raw, check)
    year = (raw.get("year") or "").strip()
    if not (year.isdigit() and 2000 <= int(year) <= 2100):
        check.fail(f"year {year!r} is not a year")
    row["year"] = int(year) if year.isdigit() else None
    return row


def _entitlement(raw: dict, check: RowCheck) -> dict:
    row = _leave_year(raw, check)
    row["base_days"] = check.number(raw, "base_days", required=False)
    row["carried_over"] = check.number(raw, "carried_over", "0")
    return row


def _balance(raw: dict, check: RowCheck) -> dict:
    row = _leave_year(raw, check)
    row["balance"] = _signed(raw.get("balance"), "balance", check.errors, check.line)
    row["as_of"] = check.date(raw, "as_of")
    return row


def _leave_request(raw: dict, check: RowCheck) -> dict:
    row = _employees_leave(raw, check)
    row["request_id"] = raw.get("request_id")
    if not row["request_id"]:
        check.fail("request_id is empty")
    start = row["start_date"] = check.date(raw, "start_date")
    end = row["end_date"] = check.date(raw, "end_date")
    if start and end and end < start:
        check.fail(f"end_date {end} is before start_date {start}")
    days = row["days"] = check.number(raw, "days")
    if days is not None and days == 0:
        check.fail("days must be more than 0")
    if days and start and end and days > (end - start).days + 1:
        check.fail(f"{days} days do not fit between {start} and {end}")
    row["status"] = (raw.get("status") or "").lower()
    if row["status"] not in STATUSES:
        check.fail(f"status {raw.get('status')!r} must be one of " + ", ".join(sorted(STATUSES)))
    return row


ROW_CHECKS = {"employees": _employee, "public_holidays": _public_holiday, "entitlements": _entitlement,
              "balances": _balance, "leave": _leave_request}
