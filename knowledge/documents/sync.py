"""Folder sync: make the knowledge base match a folder (a shared-drive export), safely and repeatably (cron).
Documents are keyed by their path inside the folder (`handbook/policy.pdf`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path


from knowledge.documents.ingest import IngestResult, Ingestor, scan

log = logging.getLogger(__name__)

SYNC_LOCK = "SELECT pg_try_advisory_lock(hashtext('hrbot.sync:' || %(folder)s))"
SYNC_UNLOCK = "SELECT pg_advisory_unlock(hashtext('hrbot.sync:' || %(folder)s))"
SYNCED_SOURCES = """
SELECT source FROM documents WHERE status = 'active' AND uploaded_by = %(origin)s ORDER BY source"""


@dataclass
class SyncResult:
    folder: str
    results: list[IngestResult] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    skipped_busy: bool = False
    origin: str = ""  # recorded as the uploader and the audit actor: sync:<folder>


def sync_folder(ingestor: Ingestor, folder: Path, audience: str | None = None) -> SyncResult:
    """Ingest new and changed files; retire documents this folder added earlier whose file is gone.

    Documents uploaded any other way are never touched. A second sync of the same folder running at the same
    time (overlapping cron runs) returns at once with skipped_busy.
    """
    folder = folder.resolve()
    origin = f"sync:{folder}"
    result = SyncResult(str(folder), origin=origin)
    db = ingestor.db
    with db.connection() as lock_conn:
        if not lock_conn.execute(SYNC_LOCK, {"folder": str(folder)}).fetchone()[0]:
            result.skipped_busy = True
            return result
        try:
            files, skipped = scan([folder])

            def source_of(path: Path) -> str:  # two policy.pdf in different subfolders are two documents
                return path.relative_to(folder).as_posix()

            result.results = [IngestResult(source_of(path), "skipped", reason=reason) for path, reason in skipped]
            result.results += ingestor.ingest_paths(files, audience=audience, uploaded_by=origin, source_of=source_of)
            present = {source_of(p) for p in files}
            with db.connection() as conn:
                synced = [r[0] for r in conn.execute(SYNCED_SOURCES, {"origin": origin})]
            for source in synced:
                if source not in present:
                    ingestor.remove(source, actor=origin)
                    result.retired.append(source)
            if result.retired:
                log.info("sync %s retired %s", folder, result.retired)
        finally:
            lock_conn.execute(SYNC_UNLOCK, {"folder": str(folder)})
    return result



