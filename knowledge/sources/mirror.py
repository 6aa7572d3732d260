"""The document path of a run: list, fetch what changed, ingest it, retire what the source no longer has.

A listing that fails (the source unreachable, access refused, malformed) removes nothing. Once the listing is
read, it is the truth: what it no longer has is retired, whatever happens to the other items. An item that cannot
be fetched (a transient error) or is rejected (a scanned PDF without text, a hostile file) keeps what was there
before; a fetch error fails the run (tried again with backoff), a rejection does not (it would fail every run
until someone fixes the file): it is reported with its reason in the run's changes."""
from __future__ import annotations

import logging
from typing import Callable

from knowledge.documents.ingest import IngestResult, Ingestor
from knowledge.errors import NotFound
from knowledge.sources.items import Listing, Seen, Source, SourceError

log = logging.getLogger(__name__)

SEEN = "SELECT item_key, document, etag, last_modified, sha256 FROM source_items WHERE source_id = %(id)s"
REMEMBER = """
INSERT INTO source_items (source_id, item_key, document, etag, last_modified, sha256, seen_at)
VALUES (%(id)s, %(key)s, %(document)s, %(etag)s, %(last_modified)s, %(sha256)s, now())
ON CONFLICT (source_id, item_key) DO UPDATE
SET document = excluded.document, etag = excluded.etag, last_modified = excluded.last_modified,
    sha256 = coalesce(excluded.sha256, source_items.sha256), seen_at = now()"""
FORGET = "DELETE FROM source_items WHERE source_id = %(id)s AND item_key = %(key)s"
UPLOADED = "SELECT DISTINCT source FROM documents WHERE status = 'active' AND uploaded_by = %(origin)s ORDER BY source"


class SourceItems:
    """What a saved source's last runs recorded of its items (source_items), so an unchanged item costs no
    download and a renamed one is recognised by its key."""

    def __init__(self, db, source: Source):
        self.db, self.id = db, source.source_id

    def seen(self) -> dict[str, tuple[str, Seen | None]]:
        with self.db.connection() as conn:
            return {row[0]: (row[1], Seen(*row[2:])) for row in conn.execute(SEEN, {"id": self.id})}

    def remember(self, item, fetched) -> None:
        with self.db.connection() as conn:
            conn.execute(REMEMBER, {"id": self.id, "key": item.key, "document": item.document, "etag": fetched.etag,
                                    "last_modified": fetched.last_modified, "sha256": fetched.sha256})

    def forget(self, key: str) -> None:
        with self.db.connection() as conn:
            conn.execute(FORGET, {"id": self.id, "key": key})


class Uploaded:
    """An unsaved source (`hrbot sync FOLDER`) has no rows of its own: its items are the active documents it
    uploaded (uploaded_by = its origin), keyed by their name, and every item is read and left to the ingestor to
    find unchanged. Documents uploaded any other way are never its to retire."""

    def __init__(self, db, source: Source):
        self.db, self.origin = db, source.origin

    def seen(self) -> dict[str, tuple[str, Seen | None]]:
        with self.db.connection() as conn:
            return {row[0]: (row[0], None) for row in conn.execute(UPLOADED, {"origin": self.origin})}

    def remember(self, item, fetched) -> None:
        pass

    def forget(self, key: str) -> None:
        pass


def mirror(ingestor: Ingestor, source: Source, listing_of: Callable[[dict, int], Listing], result) -> None:
    """Make the knowledge base match the listing: fetch and ingest what changed, retire what is gone. result is the
    run's RunResult: its changes are counted here, and each item's outcome and the retired documents listed."""
    memory = (SourceItems if source.source_id is not None else Uploaded)(ingestor.db, source)
    seen = memory.seen()
    listing = listing_of(source.settings, ingestor.max_bytes)  # a SourceError here: nothing has changed
    result.skipped = listing.skipped
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
        if fetched.rejected:
            outcome = IngestResult(item.document, "rejected", reason=fetched.rejected)
        elif fetched.data is None:
            outcome = IngestResult(item.document, "unchanged")
        else:
            outcome = ingestor.ingest_bytes(fetched.name or item.document, fetched.data, audience=source.audience,
                                            uploaded_by=source.origin, url=item.url, source=item.document)
        result.items.append(outcome)
        if outcome.status in ("rejected", "failed"):
            rejected.append(f"{item.document}: {outcome.reason}")  # what was there before stays
            continue
        if fetched.data is None:
            result.changes["unchanged"] += 1
        else:
            status = "replaced" if renamed and outcome.status == "added" else outcome.status
            result.changes[status if status in result.changes else "unchanged"] += 1
            if renamed:
                old_names.append(previous[0])
        memory.remember(item, fetched)
    named = {item.document for item in listing.items if item.key in present}  # the names that stay
    for document in old_names:  # completes a rename (now recorded under the new name), even if other items failed
        if document not in named:
            _retire(ingestor, source, document)
    for key, (document, _) in seen.items():  # gone from the listing: retired, whatever the other items did
        if key in present:
            continue
        if document not in named and _retire(ingestor, source, document):  # in named: another item's name now
            result.changes["removed"] += 1
            result.retired.append(document)
        memory.forget(key)
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
        ingestor.remove(document, actor=source.origin, uploaded_by=source.origin)
        return True
    except NotFound:
        return False  # removed by hand meanwhile
