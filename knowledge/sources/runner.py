"""One run of one source: list, fetch what changed, ingest it, retire what the source no longer has.

- One run per source at a time across every replica and cron job (an advisory lock, held on a connection of its
  own so a long run never holds one of the owner pool's few connections; a second run returns "busy" at once).
- A listing that fails (the source unreachable, access refused, malformed) removes nothing, and the run is tried
  again after a backoff. Once the listing is read, it is the truth: what it no longer has is retired, whatever
  happens to the other items. An item that cannot be fetched (a transient error) or is rejected (a scanned PDF
  without text, a hostile file) keeps what was there before; a fetch error fails the run (tried again with
  backoff), a rejection does not (it would fail every run until someone fixes the file): it is reported with
  its reason in the run's changes. `hrbot sync` follows the same rule. After ALERT_AFTER failures in a row,
  admins are told, once until it works again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from knowledge.documents.ingest import Ingestor
from knowledge.errors import ConfigurationError, HRBotError, NotFound
from knowledge.sources.items import Seen, SourceError
from knowledge.sources.kinds import KINDS
from knowledge.sources.records import RECORD_KINDS
from knowledge.sources.store import Source, SourceStore

log = logging.getLogger(__name__)

ALERT_AFTER = 3
LOCK = "SELECT pg_try_advisory_lock(hashtext('hrbot.source'), %(id)s::int)"
UNLOCK = "SELECT pg_advisory_unlock(hashtext('hrbot.source'), %(id)s::int)"
SEEN = "SELECT item_key, document, etag, last_modified, sha256 FROM source_items WHERE source_id = %(id)s"
REMEMBER = """
INSERT INTO source_items (source_id, item_key, document, etag, last_modified, sha256, seen_at)
VALUES (%(id)s, %(key)s, %(document)s, %(etag)s, %(last_modified)s, %(sha256)s, now())
ON CONFLICT (source_id, item_key) DO UPDATE
SET document = excluded.document, etag = excluded.etag, last_modified = excluded.last_modified,
    sha256 = coalesce(excluded.sha256, source_items.sha256), seen_at = now()"""
FORGET = "DELETE FROM source_items WHERE source_id = %(id)s AND item_key = %(key)s"


@dataclass
class RunResult:
    source: str
    status: str = "ok"                      # ok | failed | busy
    changes: dict = field(default_factory=lambda: {"added": 0, "replaced": 0, "removed": 0, "unchanged": 0})
    error: str | None = None
    failures: int = 0


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
            if source.kind in RECORD_KINDS:
                _run_records(ingestor.db, source, result, profile)
            else:
                _run(ingestor, source, result)
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


def _run(ingestor: Ingestor, source: Source, result: RunResult) -> None:
    listing_of = KINDS.get(source.kind)
    if listing_of is None:
        known = ", ".join(sorted({*KINDS, *RECORD_KINDS}))
        raise ConfigurationError(f"Unknown source kind {source.kind!r} (known: {known}).")
    with ingestor.db.connection() as conn:
        seen = {row[0]: (row[1], Seen(*row[2:])) for row in conn.execute(SEEN, {"id": source.source_id})}
    listing = listing_of(source.settings, ingestor.max_bytes)  # a SourceError here: nothing has changed
    present, gone, errors, rejected, old_names = set(), [], [], [], []
    for item in listing.items:
        previous = seen.get(item.key)
        renamed = previous is not None and previous[0] != item.document  # renamed or moved at the source
        try:
            # a renamed item is read whole: it must exist under its new name even when its content is unchanged
            fetched = item.fetch(previous[1] if previous and not renamed else None)
        except SourceError as exc:
            errors.append(str(exc))
            present.add(item.key)  # not known to be gone: keep it
            continue
        if fetched.gone:
            gone.append(item.key)
            continue
        present.add(item.key)
        if fetched.data is None:
            result.changes["unchanged"] += 1
        else:
            outcome = ingestor.ingest_bytes(fetched.name or item.document, fetched.data, audience=source.audience,
                                            uploaded_by=source.origin, url=item.url, source=item.document)
            if outcome.status in ("rejected", "failed"):
                rejected.append(f"{item.document}: {outcome.reason}")  # what was there before stays
                continue
            status = "replaced" if renamed and outcome.status == "added" else outcome.status
            result.changes[status if status in result.changes else "unchanged"] += 1
            if renamed:
                old_names.append(previous[0])
        with ingestor.db.connection() as conn:
            conn.execute(REMEMBER, {"id": source.source_id, "key": item.key, "document": item.document,
                                    "etag": fetched.etag, "last_modified": fetched.last_modified,
                                    "sha256": fetched.sha256})
    named = {item.document for item in listing.items if item.key in present}  # the names that stay
    for document in old_names:  # completes a rename (now recorded under the new name), even if other items failed
        if document not in named:
            _retire(ingestor, source, document)
    for key, (document, _) in seen.items():  # gone from the listing: retired, whatever the other items did
        if key in present:
            continue
        if document not in named and _retire(ingestor, source, document):  # in named: another item's name now
            result.changes["removed"] += 1
        with ingestor.db.connection() as conn:
            conn.execute(FORGET, {"id": source.source_id, "key": key})
    if rejected:
        log.warning("source %s: %d item(s) rejected: %s", source.name, len(rejected), rejected[:3])
        result.changes["rejected"] = len(rejected)
        result.changes["rejected because"] = _first(rejected)
    if errors:
        raise SourceError(f"{len(errors)} item(s) could not be fetched (kept as they were; tried again): "
                          + _first(errors))
    if listing.skipped:
        log.info("source %s skipped: %s", source.name, listing.skipped)
        result.changes["skipped"] = len(listing.skipped)
        result.changes["skipped because"] = "; ".join(listing.skipped[:3])


def _first(reasons: list[str], shown: int = 3) -> str:
    more = f"; and {len(reasons) - shown} more" if len(reasons) > shown else ""
    return "; ".join(reasons[:shown]) + more


def _retire(ingestor: Ingestor, source: Source, document: str) -> bool:
    try:
        ingestor.remove(document, actor=source.origin)
        return True
    except NotFound:
        return False  # removed by hand meanwhile


def _run_records(db, source: Source, result: RunResult, profile) -> None:
    """Pull every record, then write them with the CSV import's checks in one transaction: a row that fails
    them fails the run and nothing is written. Only rows that differ are written (and counted as changed); leave
    requests this source brought in and no longer lists are deleted in the same transaction."""
    from knowledge.people.imports import Owner, import_tables

    from knowledge.operations.privacy import erased

    pull = RECORD_KINDS[source.kind](source.settings, profile, date.today())
    with db.owner.connection() as conn:
        pull.without_erased(erased(conn))
    if not pull.tables:
        raise SourceError("The source returned no records at all; nothing was changed (check its settings).")
    written = import_tables(db, pull.tables, actor=source.origin, profile=profile,
                            owner=Owner(source.source_id, *pull.window))
    removed = sum(r.removed for r in written)
    result.changes = {"rows": sum(r.rows for r in written), "changed": sum(r.changed for r in written),
                      **{f"{r.kind} changed": r.changed for r in written},
                      **({"leave removed": removed} if removed else {}),
                      **({"skipped": sum(pull.skipped.values())} if pull.skipped else {})}
    if pull.skipped:
        log.info("source %s skipped: %s", source.name, pull.skipped)
        result.changes["skipped because"] = "; ".join(f"{n} {reason}" for reason, n in pull.skipped.items())


def run_due(ingestor: Ingestor, store: SourceStore, alert=None, profile=None) -> list[RunResult]:
    """Every source whose time has come (the worker calls this every minute)."""
    return [run_source(ingestor, store, source, alert, profile) for source in store.due()]
