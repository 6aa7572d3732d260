"""A records source reading the company's own database: read-only SQL queries whose result columns are named as
in the CSV import, their rows streamed into the run's pull (records.py)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Iterator

from knowledge.errors import ConfigurationError
from knowledge.people.validation import KINDS as COLUMNS
from knowledge.sources.items import SourceError, resolve_secret
from knowledge.sources.records import Pull, locations_matcher

QUERY_FETCH = 2000  # rows of a records query fetched at a time


def sql_pull(settings: dict, profile, today: date, into=None):
    """Settings: dsn (env:/file: reference to a PostgreSQL URL; the account should only be able to read) and
    queries {kind: "SELECT ..."} for any of employees, entitlements, balances, leave, public_holidays, whose
    result columns are named as in the CSV import. Each runs in a read-only transaction with a time limit, its
    rows fetched QUERY_FETCH at a time; optional locations maps the database's location
    values onto the profile's codes."""
    import psycopg

    dsn = settings.get("dsn")
    if not isinstance(dsn, str) or not dsn.startswith(("env:", "file:")):
        raise ConfigurationError("A sql source needs dsn as env:VARIABLE or file:/path (a connection URL holds a "
                                 "password, so it is never stored in the database).")
    queries = settings.get("queries") or {}
    unknown = set(queries) - set(COLUMNS)
    if not queries or unknown:
        raise ConfigurationError(f"A sql source needs queries for some of {', '.join(COLUMNS)}"
                                 + (f" (not {', '.join(sorted(unknown))})" if unknown else "") + ".")
    location_of = locations_matcher(profile, settings.get("locations"))
    timeout_ms = int(float(settings.get("timeout_seconds", 120)) * 1000)
    pull = Pull() if into is None else into
    with _records_database_errors():
        conn = psycopg.connect(resolve_secret(dsn), connect_timeout=10, autocommit=False,
                               options=f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}")
    with conn:
        conn.read_only = True
        for kind, query in queries.items():
            pull.table(kind, kind, _query_rows(conn, kind, query, location_of))
        conn.rollback()
    return pull


@contextmanager
def _records_database_errors():
    """The records database's errors (only its own: the rows go on to this product's database meanwhile) as
    SourceErrors that say what happened."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        raise SourceError(f"The records database cannot be reached: {str(exc).strip().splitlines()[0]}") from None
    except psycopg.Error as exc:
        detail = exc.diag.message_primary or str(exc).strip().splitlines()[0]
        raise SourceError(f"A records query failed: {detail}") from None


def _query_rows(conn, kind: str, query: str, location_of) -> Iterator[tuple[str, dict]]:
    """The query's rows as they arrive (libpq's chunked mode: QUERY_FETCH at a time, not a DECLAREd cursor, so any
    read-only query runs as it would by itself and one that writes meets the read-only transaction)."""
    columns = None
    with _records_database_errors(), conn.cursor() as cur:
        for number, values in enumerate(cur.stream(query, size=QUERY_FETCH), start=1):
            columns = columns or _columns(cur, kind)
            row = {c: _text(v) for c, v in zip(columns, values)}
            if "country" in row:
                row["country"] = location_of(row["country"])
            yield f"{kind} row {number}", row
        if columns is None and cur.description:
            _columns(cur, kind)


def _columns(cur, kind: str) -> list[str]:
    columns = [c.name.lower() for c in cur.description or []]
    extra = set(columns) - set(COLUMNS[kind])
    if extra:
        raise SourceError(f"The {kind} query returns columns the import does not know: {', '.join(sorted(extra))}"
                          f" (name them with AS as one of {', '.join(COLUMNS[kind])}).")
    return columns


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)
