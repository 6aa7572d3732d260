"""The folder kind: every supported file under a folder (a mounted share), keyed and named by its path inside it."""
from __future__ import annotations

import hashlib
from pathlib import Path

from knowledge.sources.items import Fetched, Item, Listing, Seen, SourceError


def folder_listing(settings: dict, max_bytes: int) -> Listing:
    """Every supported file under settings['path'], keyed and named by its path inside the folder."""
    from knowledge.documents.ingest import scan

    root = Path(settings.get("path", "")).expanduser()
    if not root.is_dir():
        raise SourceError(f"The folder {root} does not exist or is not a folder (is the share mounted?).")
    files, _ = scan([root])
    listing = Listing()
    for path in files:
        relative = path.relative_to(root).as_posix()

        def fetch(seen: Seen | None, path=path) -> Fetched:
            data = path.read_bytes()
            if seen and seen.sha256 == hashlib.sha256(data).hexdigest():
                return Fetched(None, path.name)
            return Fetched(data, path.name)

        listing.items.append(Item(relative, relative, fetch))
    return listing
