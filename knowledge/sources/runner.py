"""One run of one source: its kind (kinds.py) does the work, documents through mirror.py (list, fetch what
changed, ingest it, retire what the source no longer has), records through records.py (pull, write with the CSV
import's checks); the runner holds the lock and keeps the status.

- One run per source at a time across every replica and cron job (an advisory lock, held on a connection of its
  own so a long run never holds one of the owner pool's few connections; a second run returns "busy" at once).
- A listing that fails (the source unreachable, access refused, malformed) removes nothing, and the run is tried
  again after a backoff. Once the listing is read, it is the truth: what it no longer has is retired, whatever
  happens to the other items. An item that cannot be fetched (a transient error) or is rejected (a scanned PDF
  without text, a hostile file) keeps what was there before; a fetch error fails the run (tried again with
  backoff), a rejection (a file that cannot be read included) does not (it would fail every run until someone
  fixes the file): it is reported with its reason in the run's changes. `hrbot sync` takes the same path (an
  unsaved folder source, knowledge.sources.sync). After ALERT_AFTER failures in a row, admins are told, once
  until it works again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from knowledge.documents.ingest import Ingestor
from knowledge.errors import HRBotError
from knowledge.sources.kinds import kind_of
from knowledge.sources.items import Source
from knowledge.sources.store import SourceStore

log = logging.getLogger(__name__)

ALERT_AFTER = 3
LOCK = "SELECT pg_try_advisory_lock(hashtext('hrbot.source'), %(id)s::int)"
UNLOCK = "SELECT pg_advisory_unlock(hashtext('hrbot.source'), %(id)s::int)"


@dataclass
class RunResult:
    source: str
    status: str = "ok"                      # ok | failed | busy
    changes: dict = field(default_factory=lambda: {"added": 0, "replaced": 0, "removed": 0, "unchanged": 0})
    error: str | None = None
    failures: int = 0
    items: list = field(default_factory=list)    # a document run's IngestResult for each item it fetched
    retired: list = field(default_factory=list)  # the documents a document run retired
    skipped: list = field(default_factory=list)  # what a document run's listing left out, each with its reason


def run_source(ingestor: Ingestor, store: SourceStore, source: Source,
               alert: Callable[[Source, int, str], None] | None = None, profile=None) -> RunResult:
    """profile: the company profile, which records sources validate against (locations, leave types)."""
    from knowledge.database.connection import connect

    result = RunResult(source.name)
    db = ingestor.db  # the owner: runs write documents
    db.require_owner("run a source")
    with connect(db.url, autocommit=True, connect_timeout=10) as lock_conn:
        if not lock_conn.execute(LOCK, {"id": source.source_id}).fetchone()[0]:
            result.status = "busy"
            return result
        try:
            kind_of(source.kind).run(ingestor, source, result, profile)
        except (HRBotError, OSError) as exc:
            result.status, result.error = "failed", str(exc)
        except Exception as exc:  # a bug must not stop the schedule; it is logged with its traceback
            log.exception("source %s: the run failed", source.name)
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            lock_conn.execute(UNLOCK, {"id": source.source_id})
    if result.status == "ok":
        store.succeeded(source, result.changes)
        log.info("source %s: %s", source.name, result.changes)
    else:
        result.failures = store.failed(source, result.error or "failed")
        log.warning("source %s failed (%d in a row): %s", source.name, result.failures, result.error)
        if alert is not None and result.failures >= ALERT_AFTER and store.claim_alert(source):
            try:
                alert(source, result.failures, result.error or "")
            except Exception:
                store.release_alert(source)
                log.exception("could not tell the admins that source %s keeps failing", source.name)
    return result
