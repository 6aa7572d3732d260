"""How fresh the knowledge is, for answers: when the employee records were last brought in, and which documents
come from a source that has not synced within its schedule. Read at most once a minute per process.

A read model of the sources table and the audit log, in SQL only: answering reads what the sources room wrote,
and does not import it (nor, through it, the records pullers and their HR-system clients)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from knowledge.profile.dates import moment as written

# The kinds of the sources that pull employee records rather than documents: the keys of
# knowledge.sources.kinds.RECORD_KINDS, written out here so answering need not import sources (a test keeps the two
# the same).
RECORD_SOURCE_KINDS = ("bamboohr", "merge", "personio", "sql")
RECORDS_SYNCED = "SELECT max(at) FROM audit_log WHERE action = 'records_import'"
STALE_DOCUMENTS = """
SELECT i.document, s.name, s.last_success_at
FROM sources s JOIN source_items i USING (source_id)
WHERE s.last_run_at IS NOT NULL
  AND (s.last_success_at IS NULL OR s.last_success_at < now() - make_interval(secs => 2 * s.every_seconds))"""
STALE_RECORDS = """
SELECT s.name, s.last_success_at FROM sources s
WHERE s.kind = ANY(%(kinds)s) AND s.last_run_at IS NOT NULL
  AND (s.last_success_at IS NULL OR s.last_success_at < now() - make_interval(secs => 2 * s.every_seconds))
ORDER BY s.name"""


@dataclass
class Snapshot:
    records_synced_at: datetime | None = None
    stale: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)  # document -> (source, last ok)
    stale_records: list[tuple[str, datetime | None]] = field(default_factory=list)  # (records source, last ok)


class Freshness:
    def __init__(self, db, ttl: float = 60.0):
        self.db = db
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._snapshot is None or time.monotonic() - self._read_at > self.ttl:
                with self.db.connection(timeout=2.0) as conn:
                    records = conn.execute(RECORDS_SYNCED).fetchone()[0]
                    stale = {doc: (name, ok) for doc, name, ok in conn.execute(STALE_DOCUMENTS).fetchall()}
                    records_stale = conn.execute(STALE_RECORDS, {"kinds": list(RECORD_SOURCE_KINDS)}).fetchall()
                self._snapshot = Snapshot(records, stale, [tuple(row) for row in records_stale])
                self._read_at = time.monotonic()
            return self._snapshot

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None


def when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return written(moment)
