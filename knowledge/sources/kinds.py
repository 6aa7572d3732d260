"""The registry of kinds: what each kind of document source lists and fetches. The implementations live in a
module each (folder.py, web.py, confluence.py, notion.py) and import only what they share (items.py, transport.py),
never this registry, so there is no circle between the registry and the kinds."""
from __future__ import annotations

from knowledge.sources.folder import folder_listing
from knowledge.sources.items import Listing
from knowledge.sources.web import web_listing


# --- the API kinds import their client library only when such a source runs ----------------------------------

def confluence(settings: dict, max_bytes: int) -> Listing:
    from knowledge.sources.confluence import confluence_listing

    return confluence_listing(settings, max_bytes)


def notion(settings: dict, max_bytes: int) -> Listing:
    from knowledge.sources.notion import notion_listing

    return notion_listing(settings, max_bytes)


KINDS = {"folder": folder_listing, "web": web_listing, "confluence": confluence, "notion": notion}
