"""The types the sources share: a configured Source (what the runner hands a kind), what every kind of source hands
the runner, and the error that stops a run. A kind returns a Listing: the items present at the source now (so items
missing from it were deleted there) and, for each, a way to fetch its content when it changed since the last run.
Nothing here knows any particular kind or the store, so every kind, the document path, the store and the runner
can import it without importing each other."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from knowledge.errors import ConfigurationError, HRBotError


class SourceError(HRBotError):
    """A run cannot go on (unreachable, refused, malformed listing): nothing is removed, the run is retried."""


@dataclass(frozen=True)
class Source:
    """A configured source as the store keeps it: kind, settings, schedule and how its last runs went."""
    source_id: int
    name: str
    kind: str
    settings: dict
    audience: str | None
    every_seconds: int
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    last_changes: dict | None = None
    created_by: str | None = None

    @property
    def origin(self) -> str:
        """Recorded as the uploader of its documents and the actor in the audit log."""
        return f"source:{self.name}"

    def stale(self, now: datetime) -> bool:
        """Overdue: no successful run within twice its schedule (once counts as merely due)."""
        if self.last_success_at is None:
            return self.last_run_at is not None
        return (now - self.last_success_at).total_seconds() > 2 * self.every_seconds


@dataclass
class Item:
    key: str                 # stable identity at the source (a path, a URL)
    document: str            # the document's name in the knowledge base
    fetch: Callable[["Seen | None"], "Fetched"]
    url: str | None = None


@dataclass
class Seen:
    """What the last run recorded of an item."""
    etag: str | None
    last_modified: str | None
    sha256: str | None


@dataclass
class Fetched:
    data: bytes | None = None     # None: unchanged since `Seen`
    name: str | None = None       # file name with the right extension, for the loader
    etag: str | None = None
    last_modified: str | None = None
    gone: bool = False            # deleted at the source (404/410)
    rejected: str | None = None   # why it cannot be read (too large, unreadable): kept as it was, like a rejection

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None


@dataclass
class Listing:
    items: list[Item] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # items left out on purpose, each "NAME is too large (...)"



# --- settings helpers the kinds share -------------------------------------------------------------------------

def as_list(value) -> list[str]:
    """A list setting given as a list or, from the command line, as comma-separated text."""
    if not value:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def as_bool(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1", "on")


def resolve_secret(reference: str) -> str:
    """The credential a reference points to, read when a run starts."""
    import os
    from pathlib import Path

    if reference.startswith("env:"):
        value = os.environ.get(reference[4:])
        if not value:
            raise ConfigurationError(f"The environment variable {reference[4:]} is not set.")
        return value
    if reference.startswith("file:"):
        try:
            return Path(reference[5:]).read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"Cannot read the secret file {reference[5:]}: {exc.strerror}.") from None
    raise ConfigurationError("A credential must be env:VARIABLE or file:/path.")
