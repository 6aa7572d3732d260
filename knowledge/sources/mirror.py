"""The document path of a run: list, fetch what changed, ingest it, retire what the source no longer has.

A listing that fails (the source unreachable, access refused, malformed) removes nothing. Once the listing is
read, it is the truth: what it no longer has is retired, whatever happens to the other items. An item that cannot
be fetched (a transient error) or is rejected (a scanned PDF without text, a hostile file) keeps what was there
before; a fetch error fails the run (tried again with backoff), a rejection does not (it would fail every run
until someone fixes the file): it is reported with its reason in the run's changes."""
from __future__ import annotations

import logging
from typing import Callable

from knowledge.documents.ingest import Ingestor
from knowledge.errors import NotFound
from knowledge.sources.items import Listing, Seen, SourceError
from knowledge.sources.store import Source

log = logging.getLogger(__name__)

SEEN = "SELECT item_key, document, etag, last_modified, sha256 FROM source_items WHERE source_id = %(id)s"
REMEMBER = """
INSERT INTO source_items (source_id, item_key, document, etag, last_modified, sha256, seen_at)
VALUES (%(id)s, %(key)s, %(document)s, %(etag)s, %(last_modified)s, %(sha256)s, now())
ON CONFLICT (source_id, item_key) DO UPDATE
SET document = excluded.document, etag = excluded.etag, last_modified = excluded.last_modified,
    sha256 = coalesce(excluded.sha256, source_items.sha256), seen_at = now()"""
FORGET = "DELETE FROM source_items WHERE source_id = %(id)s AND item_key = %(key)s"


def mirror(ingestor: Ingestor, source: Source, listing_of: Callable[[dict, int], Listing], result) -> None:
    """Make the knowledge base match the listing: fetch and ingest what changed, retire what is gone. result is the
    run's RunResult, whose changes are counted here."""
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
