"""A records source's rows (an HR system's 100,000 employees and their 400,000 time-off requests) written with the
CSV import's checks and its all-or-nothing promise, in memory that does not grow with them.

Each row is checked as it arrives (validation._validate, the import's own checks) and copied (COPY) into a
temporary staging table in batches of BATCH_ROWS, inside one transaction. The checks that need every row (a
duplicate, a manager or an employee named but neither stored nor listed, a Slack id or an email claimed by two
people) then run in SQL over the staging tables, naming each row as the import does ("employee 4021: ..."); then
set-based INSERT ... ON CONFLICT writes only the rows that differ, and one DELETE removes the requests the source
brought in and no longer lists. Any error, in any batch, rolls the whole transaction back: nothing is written.
PostgreSQL holds one transaction of 100,000 employees without trouble (the staging tables are temporary, dropped at
commit); only the first RecordsRejected.SHOWN errors are kept, with their total.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Iterator

import psycopg

from knowledge.database.audit import audit
from knowledge.people.colleagues import refresh_colleague_names
from knowledge.people.imports import CONFLICT, IMPORT_ORDER, LEAVE_TYPES, TARGETS, UPSERT_LEAVE_TYPE, ImportResult
from knowledge.people.validation import RecordsRejected, _validate

BATCH_ROWS = 2000  # rows checked and copied at a time: what the process holds of a table
PEOPLE_FETCH = 500  # staged employees read back at a time (a source that asks something of each)


@dataclass(frozen=True)
class Owner:
    """The source that brings leave requests in: those it brought in before, starting or ending inside the
    window it listed (since..until), and no longer listed, were deleted there and are deleted here too."""
    source_id: int
    since: date = date.min
    until: date = date.max


class _Everyone:
    """Who validation may take as a known employee while rows stream in: anyone; the references are checked in
    SQL once every table is staged (check_references)."""

    def __contains__(self, employee_id) -> bool:
        return True


EVERYONE = _Everyone()
RETIRE_LEAVE = """
DELETE FROM leave_records r
WHERE r.source_id = %(source_id)s AND r.start_date <= %(until)s AND r.end_date >= %(since)s
  AND NOT EXISTS (SELECT 1 FROM stage_leave s WHERE s.request_id = r.request_id)"""
STAGED_PEOPLE = """
SELECT employee_id, name, email, country, hire_date::text, department, employment_type
FROM stage_employees WHERE valid AND current ORDER BY n"""


class StagedImport:
    """One records source's run: table() stages each table as its rows arrive; finish() checks across rows and
    writes. Use it inside the transaction of `conn`; an exception anywhere means the caller rolls back."""

    def __init__(self, conn: psycopg.Connection, profile, owner: Owner, batch_rows: int | None = None):
        self.conn, self.profile, self.owner = conn, profile, owner
        self.batch_rows = batch_rows or BATCH_ROWS
        if profile is not None:
            self.leave_types, self.locations = set(profile.leave_types), set(profile.locations)
        else:
            self.leave_types, self.locations = {r[0] for r in conn.execute(LEAVE_TYPES)}, None
        self.errors: list[str] = []
        self.error_count = 0
        self.tables: dict[str, tuple[str, int]] = {}  # kind -> (name, rows staged)
        self.batches = 0
        self._n = 0

    # --- staging ------------------------------------------------------------------------------------------------

    def table(self, name: str, kind: str, rows: Iterable[tuple[str, dict]]) -> int:
        """Check and stage (where, raw row) pairs; returns how many passed. A table with no rows is no table (so
        an empty list of requests never retires every request)."""
        if kind in self.tables:
            raise ValueError(f"{kind} staged twice")
        table, columns = TARGETS[kind]
        cols = ", ".join(c for c, _ in columns)
        self.conn.execute(f"CREATE TEMP TABLE stage_{kind} ON COMMIT DROP AS SELECT 0 AS n, ''::text AS at, "
                          f"true AS valid, true AS current, {cols} FROM {table} WITH NO DATA")
        staged = seen = 0
        batch: list[tuple] = []
        for where, raw in rows:
            seen += 1
            problems: list[str] = []
            row = _validate(kind, raw, where, problems, EVERYONE, self.leave_types, self.locations)
            self._n += 1
            if row is None:
                self._add_errors(problems)
                if kind == "employees":  # still someone a manager_id may name (as the CSV import counts them)
                    batch.append((self._n, where, False, False, raw.get("employee_id"), *[None] * (len(columns) - 1)))
            else:
                row["source_id"] = self.owner.source_id
                batch.append((self._n, where, True, raw.get("current", True) is not False,
                              *(row[key] for _, key in columns)))
                staged += 1
            if len(batch) >= self.batch_rows:
                self._copy(kind, cols, batch)
        self._copy(kind, cols, batch)
        if seen:
            self.tables[kind] = (name, staged)
        return staged

    def _copy(self, kind: str, cols: str, batch: list[tuple]) -> None:
        if not batch:
            return
        with self.conn.cursor() as cur, cur.copy(f"COPY stage_{kind} (n, at, valid, current, {cols}) FROM STDIN") \
                as copy:
            for values in batch:
                copy.write_row(values)
        self.batches += 1
        batch.clear()

    def _add_errors(self, problems: list[str], total: int | None = None) -> None:
        self.error_count += len(problems) if total is None else total
        self.errors += problems[:max(0, RecordsRejected.SHOWN - len(self.errors))]

    def employees(self) -> Iterator[dict]:
        """The staged employees who passed the checks and are current, in the order they came, read back a few
        hundred at a time (a source that asks the HR system something of each: BambooHR's balances)."""
        if "employees" not in self.tables:
            return
        with self.conn.cursor(name="staged_people") as cur:
            cur.itersize = PEOPLE_FETCH
            cur.execute(STAGED_PEOPLE)
            names = [c.name for c in cur.description]
            for values in cur:
                yield dict(zip(names, values))

    # --- checks across rows, then the write ------------------------------------------------------------------

    def finish(self, actor: str, key) -> list[ImportResult]:
        """The checks that need every row, then the write; RecordsRejected (the first errors and their number)
        when anything failed, so the caller's transaction rolls back. key: the binding key for colleague names."""
        from knowledge.people.staged_checks import check_across_rows

        for kind in self.tables:
            self.conn.execute(f"ANALYZE stage_{kind}")  # temporary tables are never analysed by autovacuum
        for problems, total in check_across_rows(self.conn, self.tables, RecordsRejected.SHOWN):
            self._add_errors(problems, total)
        if self.error_count:
            raise RecordsRejected(self.errors, subject="The records", total=self.error_count)
        try:
            return self._write(actor, key)
        except (psycopg.IntegrityError, psycopg.DataError) as exc:  # what validation missed: the admin's to fix
            detail = exc.diag.message_detail or exc.diag.message_primary or str(exc)
            raise RecordsRejected([f"the database refused a row: {detail}"], subject="The records") from None

    def _write(self, actor: str, key) -> list[ImportResult]:
        results = []
        with self.conn.cursor() as cur:
            if self.profile is not None:
                for leave_type, label in self.profile.leave_types.items():
                    cur.execute(UPSERT_LEAVE_TYPE, {"leave_type": leave_type, "label": label})
            for kind in sorted(self.tables, key=IMPORT_ORDER.index):
                name, staged = self.tables[kind]
                table, columns = TARGETS[kind]
                cols = ", ".join(c for c, _ in columns)
                cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM stage_{kind} WHERE valid "
                            f"ORDER BY n{CONFLICT[kind]}")
                changed, removed = cur.rowcount, 0
                if kind == "leave" and staged:
                    cur.execute(RETIRE_LEAVE, {"source_id": self.owner.source_id, "since": self.owner.since,
                                               "until": self.owner.until})
                    removed = cur.rowcount
                audit(self.conn, actor, "records_import", name, kind=kind, rows=staged, changed=changed,
                      **({"removed": removed} if removed else {}))
                results.append(ImportResult(kind, staged, changed, name, removed))
        if "employees" in self.tables:
            refresh_colleague_names(self.conn, key)
        return results

