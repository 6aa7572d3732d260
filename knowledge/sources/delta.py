"""The document path of a delta run: apply a set of changes (what a service's delta query or changes feed says
happened since a cursor) instead of mirroring a full listing (mirror.py), so an unchanged library costs one call.

The changes update the tree of folders and files the source has seen (state.py); from the tree, each file's path
inside the source's folder is worked out, so a file renamed or moved (its id unchanged) stays one document under
its new name, every file under a renamed or moved folder too, and a file moved out of the folder, deleted, or under
a deleted folder is retired. A full listing (the first run, or a cursor that expired) is the same call with an
empty tree: what the listing does not hold is retired.

As in mirror.py: an item whose content cannot be fetched keeps what was there and fails the run, a rejected file
keeps what was there and is reported. The cursor and the tree are saved only when nothing failed, so the next run
applies the same changes again (each file's version is in source_items: what was done is not done twice)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable

from knowledge.documents.blocks import MEDIA_TYPES
from knowledge.documents.ingest import IngestResult
from knowledge.sources.items import Fetched, Item, Source, SourceError
from knowledge.sources.mirror import SourceItems, _first, _retire
from knowledge.sources.state import Node

log = logging.getLogger(__name__)


@dataclass
class Change:
    """One item as the delta describes it; node None: deleted."""
    id: str
    node: Node | None
    version: str | None = None   # changes with the content only (Graph's cTag), so a rename costs no comparison
    size: int | None = None
    url: str | None = None       # its web address, for citations


@dataclass
class File:
    """What a fetch gives: the content (None: gone at the source), its version and its web address."""
    data: bytes | None
    version: str | None
    url: str | None
    skipped: str | None = None  # why it was not read (too large)


def too_large(size: int | None, max_bytes: int) -> str | None:
    if size is None or size <= max_bytes:
        return None
    return f"is too large ({size / 1048576:.1f} MB; the limit is {max_bytes / 1048576:.0f} MB, HRBOT_MAX_UPLOAD_MB)"


def apply_changes(ingestor, source: Source, result, changes: list[Change], tree: dict[str, Node], scope: str,
                  fetch: Callable[[str, Change | None], File]) -> set[str]:
    """Apply `changes` to `tree` (in place) and the knowledge base: files under `scope` (a folder's id) are
    documents named "<source name>/<path inside the folder>". Returns the ids whose node changed (for
    SourceState.save). Raises SourceError after applying the rest when an item could not be fetched."""
    memory = SourceItems(ingestor.db, source)
    seen = {key: value for key, value in memory.seen().items() if not key.startswith("page:")}
    latest: dict[str, Change] = {}
    for change in changes:  # an item can appear more than once in a delta: the last one holds
        latest[change.id] = change
        if change.node is None:
            tree.pop(change.id, None)
        else:
            tree[change.id] = change.node
    wanted = documents(tree, scope, source.name)
    errors, rejected, old_names, named = [], [], [], set(wanted.values())
    for item_id, document in wanted.items():
        previous, change = seen.get(item_id), latest.get(item_id)
        renamed = previous is not None and previous[0] != document
        if previous is not None and not renamed and (change is None or change.version == previous[1].etag):
            continue  # neither moved nor edited
        # Not read again until it changes: a file left out (too large) or rejected keeps what was there before.
        keep = (lambda version: None) if renamed else (
            lambda version: memory.remember(Item(item_id, document, fetch=None), Fetched(etag=version)))
        if change is not None and too_large(change.size, ingestor.max_bytes):
            result.skipped.append(f"{document} {too_large(change.size, ingestor.max_bytes)}")
            keep(change.version)
            continue
        try:
            got = fetch(item_id, change)
        except SourceError as exc:
            errors.append(str(exc))
            continue
        if got.skipped:
            result.skipped.append(f"{document} {got.skipped}")
            keep(got.version)
            continue
        if got.data is None:  # deleted between the delta and the download: the next delta says so
            continue
        outcome = ingestor.ingest_bytes(PurePosixPath(document).name, got.data, audience=source.audience,
                                        uploaded_by=source.origin, url=got.url, source=document)
        result.items.append(outcome)
        if outcome.status in ("rejected", "failed"):
            rejected.append(f"{document}: {outcome.reason}")
            keep(got.version)
            continue
        status = "replaced" if renamed and outcome.status == "added" else outcome.status
        result.changes[status if status in result.changes else "unchanged"] += 1
        if renamed:
            old_names.append(previous[0])
        memory.remember(Item(item_id, document, fetch=None), Fetched(got.data, etag=got.version))
    for document in old_names:
        if document not in named:
            _retire(ingestor, source, document)
    for item_id, (document, _) in seen.items():
        if item_id in wanted:
            continue
        if document not in named and _retire(ingestor, source, document):
            result.changes["removed"] += 1
            result.retired.append(document)
        memory.forget(item_id)
    touched = {outcome.source for outcome in result.items if isinstance(outcome, IngestResult)}
    result.changes["unchanged"] += sum(1 for i, document in wanted.items() if i in seen and document not in touched)
    _report(source, result, rejected, errors)
    return set(latest)


def _report(source: Source, result, rejected: list[str], errors: list[str]) -> None:
    if rejected:
        log.warning("source %s: %d item(s) rejected: %s", source.name, len(rejected), rejected[:3])
        result.changes["rejected"] = len(rejected)
        result.changes["rejected because"] = _first(rejected)
    if result.skipped:
        result.changes["skipped"] = len(result.skipped)
        result.changes["skipped because"] = "; ".join(result.skipped[:3])
    if errors:
        raise SourceError(f"{len(errors)} item(s) could not be fetched (kept as they were; tried again): "
                          + _first(errors))


def documents(tree: dict[str, Node], scope: str, prefix: str) -> dict[str, str]:
    """Each file under `scope` whose kind the knowledge base reads -> its document name. A file whose chain of
    parents does not reach `scope` (moved out, under a deleted folder, outside the folder) has none."""
    paths: dict[str, str | None] = {scope: ""}

    def path(item_id: str, depth: int = 0) -> str | None:
        if item_id in paths:
            return paths[item_id]
        node = tree.get(item_id)
        if node is None or node.parent is None or depth > 256:
            paths[item_id] = None
            return None
        above = path(node.parent, depth + 1)
        paths[item_id] = None if above is None else f"{above}/{_segment(node.name)}".lstrip("/")
        return paths[item_id]

    found = {}
    for item_id, node in tree.items():
        if node.folder or PurePosixPath(node.name).suffix.lower() not in MEDIA_TYPES:
            continue
        relative = path(item_id)
        if relative:
            found[item_id] = f"{prefix}/{relative}"
    return found


def _segment(name: str) -> str:
    return " ".join(name.replace("/", "-").replace("\\", "-").split()) or "Untitled"
