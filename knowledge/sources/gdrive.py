"""The gdrive kind: a Google Drive folder (with its subfolders) or a shared drive, read by a service account through
the Drive v3 REST API (gdrive_api.py says why not Google's client libraries).

Incremental with the Changes API: the first run asks for a start page token (changes.getStartPageToken) and then
lists the folder (files.list, a folder at a time; a shared drive in one paged listing); later runs ask
changes.list from the saved token for what changed since, so an unchanged folder costs one call. The new token
(newStartPageToken) is saved only once every change is applied (state.py), so a run that fails half-way applies
the same changes again next time. Drive names an item's parents by id: delta.py works out each file's path from
the tree of ids kept between runs, so renames and moves (of a file or of a whole folder) keep one document under
the new name; trashed, deleted, moved-out-of-the-folder files and those the service account lost access to
(Drive reports them as removed) are retired. A page token Drive no longer accepts (400/404) starts over with a
full listing, which retires what is gone.

Google Docs are exported (files.export) as DOCX, or HTML with export: html; other Google types (Sheets, Slides,
shortcuts) are not read. A Doc's `version` changes with every edit, renames included, so a renamed Doc is exported
again; a stored file's md5Checksum changes with its content only."""
from __future__ import annotations

import json
import logging
import re

from knowledge.errors import ConfigurationError
from knowledge.sources.delta import Change, File, apply_changes, too_large
from knowledge.sources.gdrive_api import DriveClient, InvalidCursor, _q, _reason, _StatusError
from knowledge.sources.items import Source, SourceError
from knowledge.sources.state import Node, SourceState

log = logging.getLogger(__name__)

CURSOR, SCOPE = "page_token", "scope"
DOC = "doc:"  # a Google Doc's version is marked so: it is exported, not downloaded
FOLDER = "application/vnd.google-apps.folder"
GOOGLE = "application/vnd.google-apps."
EXPORTS = {"docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
           "html": ("text/html", ".html")}
FILE_FIELDS = "id,name,mimeType,parents,trashed,md5Checksum,version,size,webViewLink"
ALL_DRIVES = {"supportsAllDrives": "true", "includeItemsFromAllDrives": "true"}
ID = re.compile(r"[A-Za-z0-9_-]{10,}")


def run_gdrive(ingestor, source: Source, result, profile=None,
               client: DriveClient | None = None) -> tuple[DriveClient, str]:
    """One run; (the client, the page token the knowledge base is now up to). Credentials refused, the folder not
    shared, a changes page that fails: a SourceError before anything is changed."""
    client = client or DriveClient(source.settings, ingestor.max_bytes)
    state = SourceState(ingestor.db, source.source_id)
    folder, drive = scope_of(source.settings)
    key = json.dumps({"folder": folder, "drive": drive})
    if (state.get(SCOPE) or ("",))[0] != key:  # another folder: a token and tree of the old one are no use
        state.drop(CURSOR)
        state.put(SCOPE, key)
    kept = state.get(CURSOR)
    export = _export(source.settings)
    whole = kept is None
    if not whole:
        try:
            changes, token = changes_since(client, kept[0], drive, export)
        except InvalidCursor:
            log.warning("source %s: Drive no longer accepts the saved page token; listing the folder again",
                        source.name)
            whole = True
    if not whole and any(c.id == folder and c.node is None for c in changes):
        whole = True  # the folder itself trashed or unshared: listed again (gone: all retired; unshared: refused)
    if whole:
        token = start_token(client, drive)  # asked first: what changes during the listing is applied next run
        changes = listing(client, folder, drive, export)
    if changes or whole:
        tree = {} if whole else state.tree()
        if not whole:
            changes += _moved_in_folders(client, tree, changes, folder, export)
        fetch = _fetcher(client, ingestor.max_bytes, export)
        changed = apply_changes(ingestor, source, result, changes, tree, folder, fetch)
        state.save(CURSOR, token, tree, whole=whole, changed=changed)
    else:  # nothing changed: one call, nothing read from the tree
        result.changes["unchanged"] += _files(ingestor.db, source)
        state.put(CURSOR, token)
    result.changes["drive calls"] = client.calls
    return client, token


def scope_of(settings: dict) -> tuple[str, str | None]:
    """(the folder's id, the shared drive's id or None). A shared drive's own id is its top folder's id; a folder
    may be given as its address (https://drive.google.com/drive/folders/ID)."""
    drive = _id(settings.get("drive"), "drive") if settings.get("drive") else None
    folder = _id(settings.get("folder"), "folder") if settings.get("folder") else drive
    if folder is None:
        raise ConfigurationError("A gdrive source needs folder (a folder's id or address) or drive (a shared "
                                 "drive's id).")
    return folder, drive


def _id(value, what: str) -> str:
    text = str(value).strip().rstrip("/")
    found = re.search(r"/folders/([A-Za-z0-9_-]+)", text) or re.search(r"[?&]id=([A-Za-z0-9_-]+)", text)
    text = found.group(1) if found else text
    if not ID.fullmatch(text):
        raise ConfigurationError(f"{value!r} is not a Google Drive {what} id (the part of its address after "
                                 "/folders/).")
    return text


def _export(settings: dict) -> tuple[str, str]:
    choice = str(settings.get("export") or "docx").lower()
    if choice not in EXPORTS:
        raise ConfigurationError("A gdrive source's export is docx or html (how Google Docs are read).")
    return EXPORTS[choice]


# --- what is there, what changed -----------------------------------------------------------------------------

def start_token(client: DriveClient, drive: str | None) -> str:
    params = {"supportsAllDrives": "true", **({"driveId": drive} if drive else {})}
    answer = client.get("/drive/v3/changes/startPageToken", "a start page token", params)
    if not answer.get("startPageToken"):
        raise SourceError("Google Drive gave no startPageToken; tried again at the next run.")
    return str(answer["startPageToken"])


def listing(client: DriveClient, folder: str, drive: str | None, export) -> list[Change]:
    """Everything under the folder: a shared drive in one paged listing, a folder level by level. A folder not
    shared with the service account (or a mistyped id) fails the run: Drive would list it as empty."""
    found = client.get(f"/drive/v3/files/{_q(folder)}", "folder with this id", {"fields": "id,mimeType,trashed",
                                                                                  "supportsAllDrives": "true"})
    if found.get("trashed"):
        return []
    if found.get("mimeType") != FOLDER:
        raise ConfigurationError(f"{folder} is a file, not a folder: give the id of the folder that holds it.")
    if drive is not None:
        return [c for f in _files_list(client, "trashed = false", {"corpora": "drive", "driveId": drive})
                if (c := change_of(f, export))]
    return _subtree(client, folder, export)


def _subtree(client: DriveClient, folder: str, export) -> list[Change]:
    changes, folders, seen = [], [folder], {folder}
    while folders:
        parent = folders.pop()
        for found in _files_list(client, f"'{parent}' in parents and trashed = false", {}):
            change = change_of(found, export)
            if change is None:
                continue
            changes.append(change)
            if change.node.folder and change.id not in seen:
                seen.add(change.id)
                folders.append(change.id)
    return changes


def _files_list(client: DriveClient, query: str, extra: dict):
    params = {"q": query, "pageSize": "1000", "fields": f"nextPageToken,files({FILE_FIELDS})", **ALL_DRIVES,
              **extra}
    while True:
        answer = client.get("/drive/v3/files", "the folder's files", params)
        yield from (f for f in answer.get("files") or [] if isinstance(f, dict))
        if not answer.get("nextPageToken"):
            return
        params = {**params, "pageToken": answer["nextPageToken"]}


def changes_since(client: DriveClient, token: str, drive: str | None, export) -> tuple[list[Change], str]:
    """Every change since `token`, all pages read before anything is applied; (changes, newStartPageToken)."""
    params = {"pageToken": token, "pageSize": "1000", "includeRemoved": "true", "spaces": "drive", **ALL_DRIVES,
              "fields": f"nextPageToken,newStartPageToken,changes(changeType,removed,fileId,file({FILE_FIELDS}))",
              **({"driveId": drive} if drive else {})}
    changes = []
    while True:
        try:
            answer = client.get("/drive/v3/changes", "the folder's changes", params, answered=(400, 404, 410))
        except _StatusError as exc:
            raise InvalidCursor(f"Google Drive refused the saved page token ({exc.status} {_reason(exc.body)}).") \
                from None
        for item in answer.get("changes") or []:
            if isinstance(item, dict) and item.get("changeType", "file") == "file" and item.get("fileId"):
                removed = item.get("removed") or not isinstance(item.get("file"), dict)
                changes.append(Change(str(item["fileId"]), None) if removed else
                               change_of(item["file"], export) or Change(str(item["fileId"]), None))
        if answer.get("newStartPageToken"):
            return changes, str(answer["newStartPageToken"])
        if not answer.get("nextPageToken"):
            raise SourceError("Google Drive ended a changes listing without a newStartPageToken; tried again at "
                              "the next run.")
        params = {**params, "pageToken": answer["nextPageToken"]}


def change_of(found: dict, export) -> Change | None:
    """A file's metadata as a Change: trashed is deleted; a Google Doc is named with its export's extension; other
    Google types (Sheets, Slides, shortcuts) get a name no loader reads, so they stay in the tree unread."""
    if not isinstance(found.get("id"), str):
        return None
    if found.get("trashed"):
        return Change(found["id"], None)
    parents = found.get("parents") or [None]
    name, kind = str(found.get("name") or ""), str(found.get("mimeType") or "")
    if kind == FOLDER:
        return Change(found["id"], Node(parents[0], name, True))
    if kind == GOOGLE + "document":
        name, version = name + export[1], f"{DOC}{found.get('version')}"
    elif kind.startswith(GOOGLE):
        name, version = f"{name}.{kind[len(GOOGLE):]}-not-read", None
    else:
        version = found.get("md5Checksum") or f"v{found.get('version')}"
    size = int(found["size"]) if str(found.get("size") or "").isdigit() else None
    return Change(found["id"], Node(parents[0], name, False), version=version, size=size,
                  url=found.get("webViewLink"))


def _moved_in_folders(client: DriveClient, tree: dict[str, Node], changes: list[Change], scope: str,
                      export) -> list[Change]:
    """A folder moved into the scope from outside comes as one change, what is in it as none: listed here."""
    after = dict(tree)
    for change in changes:
        if change.node is None:
            after.pop(change.id, None)
        else:
            after[change.id] = change.node
    found = []
    for change in changes:
        if change.node is not None and change.node.folder and _under(after, change.id, scope) \
                and not _under(tree, change.id, scope):
            found += _subtree(client, change.id, export)
    return found


def _under(tree: dict[str, Node], item: str, scope: str) -> bool:
    for _ in range(256):
        node = tree.get(item)
        if node is None or node.parent is None:
            return False
        if node.parent == scope:
            return True
        item = node.parent
    return False


# --- content ---------------------------------------------------------------------------------------------------

def _fetcher(client: DriveClient, max_bytes: int, export):
    def fetch(item_id: str, change: Change | None) -> File:
        """A changed file's bytes (a Google Doc exported); one the changes did not describe (moved with its
        folder) is asked for first."""
        if change is None or change.node is None:
            found = client.get(f"/drive/v3/files/{_q(item_id)}", "a file",
                               {"fields": FILE_FIELDS, "supportsAllDrives": "true"})
            change = change_of(found, export)
            if change is None or change.node is None:
                return File(None, None, None)
        if too_large(change.size, max_bytes):
            return File(None, change.version, change.url, skipped=too_large(change.size, max_bytes))
        if (change.version or "").startswith(DOC):
            status, body = client.call("GET", f"/drive/v3/files/{_q(item_id)}/export", f"the Doc {change.node.name!r}",
                                       params={"mimeType": export[0]}, limit=max_bytes, answered=(403,))
            if status == 403:  # exportSizeLimitExceeded: Drive exports at most 10 MB
                return File(None, change.version, change.url,
                            skipped=f"cannot be exported by Google Drive ({_reason(body) or 'refused'})")
        else:
            status, body = client.call("GET", f"/drive/v3/files/{_q(item_id)}", f"the file {change.node.name!r}",
                                       params={"alt": "media", "supportsAllDrives": "true"}, limit=max_bytes)
        return File(None if status in (404, 410) else body, change.version, change.url)
    return fetch


def _files(db, source: Source) -> int:
    with db.connection() as conn:
        return conn.execute("SELECT count(*) FROM source_items WHERE source_id = %s", [source.source_id]).fetchone()[0]
