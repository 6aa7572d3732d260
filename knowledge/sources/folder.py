"""The folder kind: every supported file under a folder (a mounted share), keyed and named by its path inside it
(two policy.pdf in different subfolders are two documents). A scheduled folder source and `hrbot sync FOLDER`
both run it, so they leave out, read and reject files by one rule."""
from __future__ import annotations

import hashlib
from pathlib import Path

from knowledge.sources.items import Fetched, Item, Listing, Seen, SourceError


def folder_listing(settings: dict, max_bytes: int) -> Listing:
    """Every supported file under settings['path']. What scan leaves out (links out of the folder, names like
    secrets) is in listing.skipped as "NAME: reason"."""
    from knowledge.documents.ingest import scan

    root = Path(settings.get("path", "")).expanduser()
    if not root.is_dir():
        raise SourceError(f"The folder {root} does not exist or is not a folder (is the share mounted?).")
    files, skipped = scan([root])
    listing = Listing(skipped=[f"{path.relative_to(root).as_posix()}: {reason}" for path, reason in skipped])
    for path in files:
        relative = path.relative_to(root).as_posix()

        def fetch(seen: Seen | None, path=path) -> Fetched:
            """A file that cannot be read is refused like a file the ingestor rejects: what was there stays, and
            the run goes on (it would otherwise fail every run until someone fixes the file)."""
            if not path.is_file():
                return Fetched(rejected=f"{path} does not exist.")
            size = path.stat().st_size
            if size > max_bytes:  # not read into memory just to be refused
                return Fetched(rejected=f"The file is {size / 1048576:.1f} MB; the limit is "
                                        f"{max_bytes / 1048576:.0f} MB. Split it into smaller documents.")
            try:
                data = path.read_bytes()
            except OSError as exc:  # permissions, a share gone away: this file only
                return Fetched(rejected=f"{path} could not be read ({exc.strerror}).")
            if seen and seen.sha256 == hashlib.sha256(data).hexdigest():
                return Fetched(None, path.name)
            return Fetched(data, path.name)

        listing.items.append(Item(relative, relative, fetch))
    return listing
