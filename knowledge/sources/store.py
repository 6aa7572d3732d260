"""Sources and their status in PostgreSQL (migration 0013). The store checks a new source against its kind's
needs (kinds.py), so it stands above the registry; the kinds and the document path know a source only as the
shared type (items.Source), never the store: the dependency runs one way."""
from __future__ import annotations

import json
import re

from knowledge.database.connection import Database
from knowledge.errors import ConfigurationError, NotFound
from knowledge.database.audit import audit
from knowledge.sources.items import Source, resolve_secret
from knowledge.sources.kinds import KINDS, kind_of

EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SECRET_KEYS = ("password", "token", "secret", "api_key", "apikey", "key", "credential", "credentials", "dsn")

COLUMNS = """source_id, name, kind, settings, audience, every_seconds, next_run_at, last_run_at, last_success_at,
             last_error, failures, last_changes, created_by"""
INSERT = f"""
INSERT INTO sources (name, kind, settings, audience, every_seconds, created_by)
VALUES (%(name)s, %(kind)s, %(settings)s::jsonb, %(audience)s, %(every)s, %(by)s)
RETURNING {COLUMNS}"""
LIST = f"SELECT {COLUMNS} FROM sources ORDER BY name"
GET = f"SELECT {COLUMNS} FROM sources WHERE name = %(name)s"
DELETE = "DELETE FROM sources WHERE name = %(name)s RETURNING source_id"
DUE = f"SELECT {COLUMNS} FROM sources WHERE next_run_at <= now() ORDER BY next_run_at"
SUCCEEDED = """
UPDATE sources SET last_run_at = now(), last_success_at = now(), last_error = NULL, failures = 0,
                   last_changes = %(changes)s::jsonb, alerted_at = NULL,
                   next_run_at = now() + make_interval(secs => every_seconds)
WHERE source_id = %(id)s"""
FAILED = """
UPDATE sources SET last_run_at = now(), last_error = %(error)s, failures = failures + 1,
                   next_run_at = now() + make_interval(secs => least(every_seconds, %(backoff)s))
WHERE source_id = %(id)s RETURNING failures"""
# Taken before the admins are told, so one alert goes out per failing streak, from one replica only.
CLAIM_ALERT = "UPDATE sources SET alerted_at = now() WHERE source_id = %(id)s AND alerted_at IS NULL RETURNING 1"
RELEASE_ALERT = "UPDATE sources SET alerted_at = NULL WHERE source_id = %(id)s"


def parse_every(text: str) -> int:
    """'30m', '6h', '1d' -> seconds (at least a minute)."""
    match = EVERY.match(text or "")
    if not match:
        raise ConfigurationError(f"A schedule is a number and a unit, such as 30m, 6h or 1d; got {text!r}.")
    seconds = int(match.group(1)) * UNITS[match.group(2)]
    if seconds < 60:
        raise ConfigurationError("A source runs at most once a minute.")
    return seconds


def check_settings(settings: dict) -> None:
    """Credentials are references (env:NAME or file:/path), never values stored in the database: a setting named
    like a credential must be a reference whatever its type (a service account's key pasted as a JSON object was
    stored: outside review), and no value anywhere may hold key material."""
    for key, value in settings.items():
        if any(word in key.lower() for word in SECRET_KEYS) and not (
                isinstance(value, str) and value.startswith(("env:", "file:"))):
            raise ConfigurationError(
                f"Setting {key!r} looks like a credential: give it as env:VARIABLE or file:/path/to/secret, "
                "so it is never stored in the database or shown in a log.")
        if _holds_key_material(value):
            raise ConfigurationError(
                f"Setting {key!r} holds a private key: give the key as env:VARIABLE or file:/path/to/key.json.")


def _holds_key_material(value) -> bool:
    if isinstance(value, str):
        return "PRIVATE KEY" in value or '"private_key"' in value
    if isinstance(value, dict):
        return any(_holds_key_material(v) or "private_key" in str(k).lower() for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_key_material(v) for v in value)
    return False


def problems(source: Source) -> list[str]:
    """What would stop a source's next run before it reaches the service: a credential reference that does not
    resolve here, a client library that is not installed (for `hrbot doctor`)."""
    import importlib.util

    found = []
    for key, reference in _references(source.settings):
        try:
            resolve_secret(reference)
        except ConfigurationError as exc:
            found.append(f"{source.name}: {key}: {exc}")
    kind = KINDS.get(source.kind)
    library = kind.library if kind else None
    if library and importlib.util.find_spec(library) is None:
        found.append(f"{source.name}: the {library} package is not installed")
    return found


def _references(settings: dict, prefix: str = ""):
    for key, value in settings.items():
        if isinstance(value, dict):
            yield from _references(value, f"{prefix}{key}.")
        elif isinstance(value, str) and value.startswith(("env:", "file:")):
            yield f"{prefix}{key}", value


class SourceStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, name: str, kind: str, settings: dict, every_seconds: int, audience: str | None = None,
            created_by: str | None = None) -> Source:
        import psycopg

        kind_of(kind).check(settings)  # an unknown kind or a missing setting is told at once
        check_settings(settings)
        try:
            with self.db.owner.connection() as conn:
                row = conn.execute(INSERT, {"name": name, "kind": kind, "settings": json.dumps(settings),
                                            "audience": audience, "every": every_seconds, "by": created_by}).fetchone()
                audit(conn, created_by or "unknown", "source_add", name, kind=kind, every_seconds=every_seconds)
        except psycopg.errors.UniqueViolation:
            raise ConfigurationError(f"A source named {name!r} exists already.") from None
        except psycopg.errors.CheckViolation:
            raise ConfigurationError(
                "A source name is lower-case letters, digits, '-' and '_' (up to 63), starting with a letter "
                "or digit.") from None
        return Source(*row)

    def list(self) -> list[Source]:
        with self.db.connection() as conn:
            return [Source(*row) for row in conn.execute(LIST).fetchall()]

    def get(self, name: str) -> Source:
        with self.db.connection() as conn:
            row = conn.execute(GET, {"name": name}).fetchone()
        if row is None:
            raise NotFound(f"No source is named {name!r} (`hrbot sources list` shows them).")
        return Source(*row)

    def remove(self, name: str) -> None:
        with self.db.owner.connection() as conn:
            if conn.execute(DELETE, {"name": name}).fetchone() is None:
                raise NotFound(f"No source is named {name!r}.")

    def due(self) -> list[Source]:
        with self.db.connection() as conn:
            return [Source(*row) for row in conn.execute(DUE).fetchall()]

    def succeeded(self, source: Source, changes: dict) -> None:
        with self.db.owner.connection() as conn:
            conn.execute(SUCCEEDED, {"id": source.source_id, "changes": json.dumps(changes)})

    def failed(self, source: Source, error: str) -> int:
        """Record a failed run; the next one comes after a backoff (1, 2, 4 ... minutes, at most the schedule).
        Returns the consecutive failures."""
        backoff = 60 * 2 ** min(source.failures, 10)
        with self.db.owner.connection() as conn:
            return conn.execute(FAILED, {"id": source.source_id, "error": error[:500], "backoff": backoff}
                                ).fetchone()[0]

    def claim_alert(self, source: Source) -> bool:
        """True for the one run that tells the admins of this failing streak (the next success resets it)."""
        with self.db.owner.connection() as conn:
            return conn.execute(CLAIM_ALERT, {"id": source.source_id}).fetchone() is not None

    def release_alert(self, source: Source) -> None:
        """The alert could not be sent: let the next failing run try again."""
        with self.db.owner.connection() as conn:
            conn.execute(RELEASE_ALERT, {"id": source.source_id})
