"""The SharePoint and OneDrive kinds: a document library of a SharePoint site (or a folder in it), or a folder of a
user's OneDrive, through Microsoft Graph with app-only credentials (graph_api.py says why not msgraph-sdk).

Incremental with Graph's delta query: the first run lists the drive (GET /drives/{id}/root/delta, following
@odata.nextLink) and keeps the @odata.deltaLink; later runs ask that link for what changed since, so an unchanged
library costs one call. Delta is asked of the drive's root, filtered to the folder here: SharePoint and OneDrive
for Business answer delta on the root only, and give parents by id, not by path (delta.py works paths out).
A 410 (the link expired: resyncRequired) starts over with a full listing, which retires what is gone.
SharePoint's site pages (GET /sites/{id}/pages) come too, as HTML from their web parts, listed whole each run
(a site has few) and fetched when their eTag changed."""
from __future__ import annotations

import html
import json
import logging
import urllib.parse

from knowledge.errors import ConfigurationError
from knowledge.sources.delta import Change, File, apply_changes, too_large
from knowledge.sources.graph_api import Gone, GraphClient, NotFound, _q
from knowledge.sources.items import Fetched, Item, Source, SourceError, as_bool
from knowledge.sources.mirror import SourceItems, _retire
from knowledge.sources.state import Node, SourceState

log = logging.getLogger(__name__)

DELTA, SCOPE = "delta", "scope"
ITEM_FIELDS = "id,name,parentReference,file,folder,root,deleted,cTag,size,webUrl,package"


def run_graph(ingestor, source: Source, result, profile=None,
              client: GraphClient | None = None) -> tuple[GraphClient, str]:
    """One run of a sharepoint or onedrive source; (the client, the drive's id). Credentials refused, the site or
    folder not found, a delta page that fails: a SourceError before anything is changed."""
    client = client or GraphClient(source.settings, ingestor.max_bytes)
    state = SourceState(ingestor.db, source.source_id)
    scope = _scope(client, source, state)
    cursor = state.get(DELTA)
    try:
        changes, link = _delta(client, scope, cursor[0] if cursor else None)
        whole = cursor is None
    except Gone:
        log.warning("source %s: the delta link expired (resyncRequired); listing the library again", source.name)
        changes, link = _delta(client, scope, None)
        whole = True
    if changes or whole:
        tree = {} if whole else state.tree()
        fetch = _fetcher(client, scope["drive"], ingestor.max_bytes)
        changed = apply_changes(ingestor, source, result, changes, tree, scope["folder"], fetch)
        state.save(DELTA, link, tree, whole=whole, changed=changed)
        if scope["folder"] not in tree:  # the folder itself was deleted: found again by its path next run
            state.drop(SCOPE)
    else:  # nothing changed: one call, and nothing read from the tree
        result.changes["unchanged"] += unchanged_files(ingestor.db, source)
        state.put(DELTA, link)
    if source.kind == "sharepoint" and as_bool(source.settings.get("pages", True)):
        sync_pages(client, ingestor, source, result, scope["site"])
    result.changes["graph calls"] = client.calls
    return client, scope["drive"]


def unchanged_files(db, source: Source) -> int:
    with db.connection() as conn:
        return conn.execute("SELECT count(*) FROM source_items WHERE source_id = %s AND item_key NOT LIKE 'page:%%'",
                            [source.source_id]).fetchone()[0]


# --- where the documents are ------------------------------------------------------------------------------------

def _scope(client: GraphClient, source: Source, state: SourceState) -> dict:
    """{site, drive, folder}: ids resolved once from the settings, then kept (a deleted folder is found again)."""
    key = json.dumps({k: source.settings.get(k) for k in ("site", "library", "user", "folder")}, sort_keys=True)
    kept = state.get(SCOPE)
    if kept:
        found = json.loads(kept[0])
        if found.get("key") == key:
            return found
    site, drive = resolve_drive(client, source)
    folder = str(source.settings.get("folder") or "").strip("/")
    try:
        item = client.get(f"/drives/{_q(drive)}/root" + (f":/{urllib.parse.quote(folder)}" if folder else ""),
                          f"the folder {folder or '(the library itself)'}", {"$select": "id,folder"})
    except NotFound:
        raise SourceError(f"The folder {folder!r} is not in the {source.kind} drive (or the app may not see it): "
                          "give its path from the library's top, such as Policies/Current.") from None
    found = {"key": key, "site": site, "drive": drive, "folder": item["id"]}
    state.put(SCOPE, json.dumps(found))
    state.drop(DELTA)  # a cursor of another drive or folder is no use
    return found


def resolve_drive(client: GraphClient, source: Source) -> tuple[str | None, str]:
    settings = source.settings
    if source.kind == "onedrive":
        user = str(settings.get("user") or "").strip()
        try:
            return None, client.get(f"/users/{_q(user)}/drive", f"the OneDrive of {user}", {"$select": "id"})["id"]
        except NotFound:
            raise SourceError(f"{user} has no OneDrive the app can see: check the user's sign-in name (UPN) and that "
                              "their OneDrive has been opened once.") from None
    site = site_id(client, str(settings.get("site") or ""))
    library = str(settings.get("library") or "").strip()
    if not library:
        return site, client.get(f"/sites/{_q(site)}/drive", "the site's default document library",
                                {"$select": "id"})["id"]
    names = []
    for page in client.pages(f"/sites/{_q(site)}/drives", "the site's document libraries", {"$select": "id,name"}):
        for drive in page.get("value") or []:
            if drive.get("name") == library:
                return site, drive["id"]
            names.append(str(drive.get("name")))
    raise SourceError(f"The site has no document library named {library!r} (it has: {', '.join(names) or 'none'}).")


def site_id(client: GraphClient, site: str) -> str:
    """A site given as its address (https://contoso.sharepoint.com/sites/HR), as host:/path, or as a site id."""
    site = site.strip().rstrip("/")
    if not site:
        raise ConfigurationError("A sharepoint source needs site: the site's address, such as "
                                 "https://contoso.sharepoint.com/sites/HR.")
    parts = urllib.parse.urlsplit(site if "://" in site else "")
    path = f"/sites/{parts.netloc}:{urllib.parse.quote(parts.path or '/')}" if parts.netloc else f"/sites/{site}"
    try:
        return client.get(path, f"the site {site}", {"$select": "id"})["id"]
    except NotFound:
        raise SourceError(f"Microsoft Graph finds no site {site} (or the app has no access to it: with "
                          "Sites.Selected an admin must grant the app read on this site).") from None


# --- the delta ----------------------------------------------------------------------------------------------------

def _delta(client: GraphClient, scope: dict, link: str | None) -> tuple[list[Change], str]:
    """Every change since `link` (everything, without one), all pages read before anything is applied."""
    start = link or f"/drives/{_q(scope['drive'])}/root/delta"
    changes, answer = [], None
    for answer in client.pages(start, "the library's changes", None if link else {"$select": ITEM_FIELDS}):
        changes += [change for item in answer.get("value") or [] if (change := _change(item)) is not None]
    if not answer or not answer.get("@odata.deltaLink"):
        raise SourceError("Microsoft Graph ended a delta listing without a deltaLink; tried again at the next run.")
    return changes, answer["@odata.deltaLink"]


def _change(item: dict) -> Change | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    if item.get("deleted") is not None:
        return Change(item["id"], None)
    parent = (item.get("parentReference") or {}).get("id")
    folder = "folder" in item or "root" in item or "package" in item  # a package (OneNote) is not read
    if "package" in item:
        return Change(item["id"], Node(parent, str(item.get("name") or ""), True))
    return Change(item["id"], Node(None if "root" in item else parent, str(item.get("name") or ""), folder),
                  version=item.get("cTag"), size=item.get("size"), url=item.get("webUrl"))


def _fetcher(client: GraphClient, drive: str, max_bytes: int):
    def fetch(item_id: str, change: Change | None) -> File:
        """The delta described a changed file; one it did not (moved with its folder) is asked for first."""
        meta = {"cTag": change.version, "size": change.size, "webUrl": change.url, "name": change.node.name} \
            if change is not None and change.node is not None else \
            client.get(f"/drives/{_q(drive)}/items/{_q(item_id)}", "a file", {"$select": "id,name,cTag,size,webUrl"})
        if too_large(meta.get("size"), max_bytes):
            return File(None, meta.get("cTag"), meta.get("webUrl"), skipped=too_large(meta.get("size"), max_bytes))
        data = client.content(drive, item_id, f"the file {meta.get('name')!r}")
        return File(data, meta.get("cTag"), meta.get("webUrl"))
    return fetch


# --- SharePoint pages ---------------------------------------------------------------------------------------------

def sync_pages(client: GraphClient, ingestor, source: Source, result, site: str) -> None:
    """The site's pages, listed whole (a page gone from the list is retired), each fetched when its eTag changed."""
    memory = SourceItems(ingestor.db, source)
    seen = {k: v for k, v in memory.seen().items() if k.startswith("page:")}
    listed = {}
    for answer in client.pages(f"/sites/{_q(site)}/pages/microsoft.graph.sitePage", "the site's pages",
                               {"$select": "id,name,title,webUrl,eTag"}):
        for page in answer.get("value") or []:
            if isinstance(page, dict) and page.get("id"):
                listed[f"page:{page['id']}"] = page
    for key, page in listed.items():
        title = str(page.get("title") or page.get("name") or "Untitled")
        document = f"{source.name}/Pages/{_segment(title)}.html"
        previous = seen.get(key)
        if previous and previous[0] == document and previous[1].etag == page.get("eTag"):
            result.changes["unchanged"] += 1
            continue
        full = client.get(f"/sites/{_q(site)}/pages/{_q(page['id'])}/microsoft.graph.sitePage", f"the page {title!r}",
                          {"$expand": "canvasLayout"})
        outcome = ingestor.ingest_bytes(document.rsplit("/", 1)[1], page_html(title, full),
                                        audience=source.audience, uploaded_by=source.origin,
                                        url=page.get("webUrl"), source=document)
        result.items.append(outcome)
        if outcome.status in ("rejected", "failed"):
            continue
        result.changes[outcome.status if outcome.status in result.changes else "unchanged"] += 1
        memory.remember(Item(key, document, fetch=None), Fetched(etag=page.get("eTag")))
        if previous and previous[0] != document:
            _retire(ingestor, source, previous[0])
    for key, (document, _) in seen.items():
        if key not in listed:
            if _retire(ingestor, source, document):
                result.changes["removed"] += 1
                result.retired.append(document)
            memory.forget(key)


def page_html(title: str, page: dict) -> bytes:
    """A page's text web parts (their innerHtml) in layout order, under the title as the only h1."""
    parts = []
    layout = page.get("canvasLayout") or {}
    for section in layout.get("horizontalSections") or []:
        for column in section.get("columns") or []:
            parts += [part.get("innerHtml") or "" for part in column.get("webparts") or []]
    vertical = layout.get("verticalSection") or {}
    parts += [part.get("innerHtml") or "" for part in vertical.get("webparts") or []]
    body = "".join(p for p in parts if isinstance(p, str))
    return (f"<html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"{body}</body></html>").encode()


def _segment(name: str) -> str:
    return " ".join(name.replace("/", "-").replace("\\", "-").split()) or "Untitled"
