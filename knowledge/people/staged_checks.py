"""The import's checks that need every row, run in SQL over a records source's staging tables (staged.py), so
the process never holds the rows: a duplicate key, a manager or an employee named but neither stored nor listed,
a Slack id or a work email claimed by two people. Each names the row as validation does ("employee 4021: ...");
each query returns its first `shown` problems and how many there are in all."""
from __future__ import annotations

from typing import Iterator

KEYS = {"employees": "employee_id", "entitlements": "employee_id, leave_type, year",
        "balances": "employee_id, leave_type, year", "leave": "request_id", "public_holidays": "country, day"}
DUPLICATES = """
SELECT at, first_at, {key}, count(*) OVER () FROM (
    SELECT n, at, {key}, first_value(at) OVER w AS first_at, row_number() OVER w AS k
    FROM stage_{kind} WHERE valid WINDOW w AS (PARTITION BY {key} ORDER BY n)) d
WHERE k > 1 ORDER BY n LIMIT %(shown)s"""
UNKNOWN_MANAGERS = """
SELECT at, manager_id, count(*) OVER () FROM stage_employees s
WHERE valid AND manager_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM stage_employees t WHERE t.employee_id = s.manager_id)
  AND NOT EXISTS (SELECT 1 FROM employees e WHERE e.employee_id = s.manager_id)
ORDER BY n LIMIT %(shown)s"""
UNKNOWN_EMPLOYEES = """
SELECT at, employee_id, count(*) OVER () FROM stage_{kind} s
WHERE valid {listed}
  AND NOT EXISTS (SELECT 1 FROM employees e WHERE e.employee_id = s.employee_id)
ORDER BY n LIMIT %(shown)s"""
LISTED = "AND NOT EXISTS (SELECT 1 FROM stage_employees t WHERE t.valid AND t.employee_id = s.employee_id)"
# A Slack id or an email (whatever its case) belongs to one employee: to the stored employee who has it, else to
# the first listed employee who claims it. Rows that failed a check or repeat an id claim nothing.
CLAIMS = """
WITH firsts AS (
    SELECT n, at, employee_id, {value} AS value FROM (
        SELECT s.*, row_number() OVER (PARTITION BY employee_id ORDER BY n) AS k
        FROM stage_employees s WHERE valid) x
    WHERE k = 1 AND {value} IS NOT NULL AND {value} <> ''),
owned AS (
    SELECT c.n, c.at, c.employee_id, c.value,
           coalesce(e.employee_id, first_value(c.employee_id) OVER (PARTITION BY c.value ORDER BY c.n)) AS owner
    FROM firsts c LEFT JOIN employees e ON {stored} = c.value)
SELECT n, at, value, owner, count(*) OVER () FROM owned WHERE owner <> employee_id ORDER BY n LIMIT %(shown)s"""
IDENTITIES = {"slack_user_id": ("slack_user_id", "e.slack_user_id"), "email": ("lower(email)", "lower(e.email)")}


def check_across_rows(conn, tables: dict, shown: int) -> Iterator[tuple[list[str], int]]:
    """(the first problems, how many) of each check, for the staged kinds in `tables`."""
    for kind in tables:
        found = conn.execute(DUPLICATES.format(kind=kind, key=KEYS[kind]), {"shown": shown}).fetchall()
        yield [f"{at}: duplicate of {first} ({', '.join(map(str, key))})" for at, first, *key, _ in found], \
            _total(found)
    if "employees" in tables:
        found = conn.execute(UNKNOWN_MANAGERS, {"shown": shown}).fetchall()
        yield [f"{at}: manager_id {manager!r} is not a known employee" for at, manager, _ in found], _total(found)
        yield _identity_clashes(conn, shown)
    for kind in tables.keys() & {"entitlements", "balances", "leave"}:
        sql = UNKNOWN_EMPLOYEES.format(kind=kind, listed=LISTED if "employees" in tables else "")
        found = conn.execute(sql, {"shown": shown}).fetchall()
        yield [f"{at}: unknown employee {employee!r} (import employees first)" for at, employee, _ in found], \
            _total(found)


def _identity_clashes(conn, shown: int) -> tuple[list[str], int]:
    clashes, total = [], 0
    for order, (what, (value, stored)) in enumerate(IDENTITIES.items()):
        found = conn.execute(CLAIMS.format(value=value, stored=stored), {"shown": shown}).fetchall()
        clashes += [(n, order, f"{at}: {what} {claimed!r} already belongs to employee {owner}")
                    for n, at, claimed, owner, _ in found]
        total += _total(found)
    return [message for _, _, message in sorted(clashes)][:shown], total


def _total(found: list[tuple]) -> int:
    return found[0][-1] if found else 0
