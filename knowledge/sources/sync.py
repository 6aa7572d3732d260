"""Folder sync: make the knowledge base match a folder (a shared-drive export), safely and repeatably (cron).
Documents are keyed by their path inside the folder (`handbook/policy.pdf`).

`hrbot sync FOLDER` is an ad-hoc folder source: unsaved (nothing in the sources table, no schedule, no status),
run by the folder kind through the same document path as a scheduled source (knowledge.sources.mirror), so both
read, reject and retire files by one rule. Its documents are the ones it uploaded (uploaded_by = sync:<folder>)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.documents.ingest import IngestResult, Ingestor
from knowledge.sources.items import Source

log = logging.getLogger(__name__)

SYNC_LOCK = "SELECT pg_try_advisory_lock(hashtext('hrbot.sync:' || %(folder)s))"
SYNC_UNLOCK = "SELECT pg_advisory_unlock(hashtext('hrbot.sync:' || %(folder)s))"


@dataclass
class SyncResult:
    folder: str
    results: list[IngestResult] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    skipped_busy: bool = False
    origin: str = ""  # recorded as the uploader and the audit actor: sync:<folder>


@dataclass(frozen=True)
class FolderSync(Source):
    """An unsaved folder source (source_id None): the documents path tracks it by what it uploaded."""

    @property
    def origin(self) -> str:
        return f"sync:{self.settings['path']}"


def sync_folder(ingestor: Ingestor, folder: Path, audience: str | None = None) -> SyncResult:
    """Ingest new and changed files; retire documents this folder added earlier whose file is gone.

    Documents uploaded any other way are never touched. A second sync of the same folder running at the same
    time (overlapping cron runs) returns at once with skipped_busy.
    """
    from knowledge.sources.kinds import kind_of
    from knowledge.sources.runner import RunResult

    folder = folder.resolve()
    source = FolderSync(None, f"sync:{folder}", "folder", {"path": str(folder)}, audience, 0)
    result = SyncResult(str(folder), origin=source.origin)
    db = ingestor.db
    with db.connection() as lock_conn:
        if not lock_conn.execute(SYNC_LOCK, {"folder": str(folder)}).fetchone()[0]:
            result.skipped_busy = True
            return result
        try:
            run = RunResult(source.name)
            kind_of("folder").run(ingestor, source, run, None)
            result.results = [IngestResult(name, "skipped", reason=reason)
                              for name, _, reason in (entry.partition(": ") for entry in run.skipped)]
            result.results += run.items
            result.retired = run.retired
            if result.retired:
                log.info("sync %s retired %s", folder, result.retired)
        finally:
            lock_conn.execute(SYNC_UNLOCK, {"folder": str(folder)})
    return result
