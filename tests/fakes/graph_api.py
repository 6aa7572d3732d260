"""A local Microsoft Graph and Entra ID token endpoint, answering as Microsoft documents them: the client-credentials
grant (POST /{tenant}/oauth2/v2.0/token; 401 invalid_client for a wrong or revoked secret), sites by address, a
site's drives, a user's drive, items by path, the delta query on a drive's root (pages of `page_size` items
joined by @odata.nextLink, then an @odata.deltaLink; parents by id only, never a path; a renamed folder reported
alone; deleted items as tombstones; 410 resyncRequired for a link older than `expire_before`), /content as a 302
to a download address, site pages with their canvasLayout, and subscriptions: creation validated against the
notification URL (?validationToken, echoed as text within 10 s) and notifications POSTed there on each change,
with the subscription's clientState. Knobs: `throttle` (answer the next N Graph calls 429 Retry-After: 1) and
`revoke()`."""
from __future__ import annotations

import itertools
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from tests.fakes.http import Call, FakeService


@dataclass
class Entry:
    id: str
    drive: str
    name: str
    parent: str | None
    folder: bool
    content: bytes = b""
    version: int = 1
    seq: int = 0
    deleted: bool = False
    root: bool = False


@dataclass
class Page:
    id: str
    title: str
    html: str
    etag: int = 1


@dataclass
class Site:
    id: str
    host: str
    path: str
    drives: dict = field(default_factory=dict)  # name -> drive id (the first is the default)
    pages: dict = field(default_factory=dict)   # id -> Page


class FakeGraph(FakeService):
    def __init__(self, tenant: str = "contoso-tenant", client_id: str = "hrbot-app", secret: str = "graph-secret-1",
                 page_size: int = 3):
        self.tenant, self.client_id, self.secret, self.page_size = tenant, client_id, secret, page_size
        self.entries: dict[str, Entry] = {}
        self.sites: dict[str, Site] = {}
        self.users: dict[str, str] = {}
        self.subscriptions: dict[str, dict] = {}
        self.tokens: set[str] = set()
        self.seq = 0
        self.expire_before = 0   # delta links with a lower position answer 410
        self.throttle = 0
        self.notified: list[int] = []  # statuses the notification URL answered
        self.broken: set[str] = set()  # ids whose download answers 500
        self._ids = itertools.count(1)
        super().__init__()

    @property
    def authority(self) -> str:
        return self.base_url

    @property
    def graph_url(self) -> str:
        return self.base_url + "/v1.0"

    # --- filling it -----------------------------------------------------------------------------------------

    def add_site(self, host: str = "contoso.sharepoint.com", path: str = "/sites/HR",
                 libraries=("Documents",)) -> Site:
        site = Site(f"{host},site-{next(self._ids)}", host, path)
        for name in libraries:
            site.drives[name] = self._drive()
        self.sites[site.id] = site
        return site

    def add_user(self, upn: str) -> str:
        self.users[upn] = self._drive()
        return self.users[upn]

    def _drive(self) -> str:
        drive = f"b!drive{next(self._ids)}"
        self.entries[f"{drive}-root"] = Entry(f"{drive}-root", drive, "root", None, True, root=True)
        return drive

    def put(self, drive: str, path: str, content: bytes | str) -> Entry:
        """A file at path (its folders made as needed); an existing one gets the new content."""
        *folders, name = path.strip("/").split("/")
        parent = f"{drive}-root"
        for folder in folders:
            parent = (self.child(parent, folder) or self._add(drive, folder, parent, True)).id
        entry = self.child(parent, name)
        data = content.encode() if isinstance(content, str) else content
        if entry is None:
            return self._add(drive, name, parent, False, data)
        entry.content, entry.version = data, entry.version + 1
        self._changed(entry)
        return entry

    def rename(self, entry: Entry, name: str) -> None:
        entry.name = name
        self._changed(entry)

    def move(self, entry: Entry, folder_path: str) -> None:
        parent = f"{entry.drive}-root"
        for folder in filter(None, folder_path.strip("/").split("/")):
            parent = (self.child(parent, folder) or self._add(entry.drive, folder, parent, True)).id
        entry.parent = parent
        self._changed(entry)

    def delete(self, entry: Entry) -> None:
        """Deleted: one tombstone for it (what was in a folder goes with it, unreported, as in OneDrive)."""
        for other in self.entries.values():
            if self._under(other, entry.id):
                other.deleted = True
        entry.deleted = True
        self._changed(entry)

    def add_page(self, site: Site, title: str, html: str) -> Page:
        page = Page(f"page-{next(self._ids)}", title, html)
        site.pages[page.id] = page
        return page

    def folder(self, drive: str, path: str) -> Entry:
        entry = self.entries[f"{drive}-root"]
        for part in filter(None, path.strip("/").split("/")):
            entry = self.child(entry.id, part)
        return entry

    def child(self, parent: str, name: str) -> Entry | None:
        return next((e for e in self.entries.values() if e.parent == parent and e.name == name and not e.deleted),
                    None)

    def _add(self, drive: str, name: str, parent: str, folder: bool, content: bytes = b"") -> Entry:
        entry = Entry(f"item-{next(self._ids)}", drive, name, parent, folder, content)
        self.entries[entry.id] = entry
        self._changed(entry)
        return entry

    def _changed(self, entry: Entry) -> None:
        self.seq += 1
        entry.seq = self.seq
        for subscription in list(self.subscriptions.values()):
            if subscription["resource"] == f"/drives/{entry.drive}/root":
                threading.Thread(target=self._notify, args=(subscription,), daemon=True).start()

    def _notify(self, subscription: dict) -> None:
        body = {"value": [{"subscriptionId": subscription["id"], "clientState": subscription["clientState"],
                           "changeType": "updated", "resource": subscription["resource"], "tenantId": self.tenant,
                           "subscriptionExpirationDateTime": subscription["expirationDateTime"]}]}
        self.notified.append(_post(subscription["notificationUrl"], json.dumps(body).encode())[0])

    def revoke(self) -> None:
        """The secret deleted in Entra ID: no new token, and the tokens handed out stop working."""
        self.secret, self.tokens = "deleted", set()

    def _under(self, entry: Entry, folder: str) -> bool:
        seen = 0
        while entry.parent is not None and seen < 100:
            if entry.parent == folder:
                return True
            entry, seen = self.entries[entry.parent], seen + 1
        return False

    # --- answering --------------------------------------------------------------------------------------------

    def answer(self, call: Call):
        if call.path.endswith("/oauth2/v2.0/token"):
            return self._token(call)
        if call.path.startswith("/download/"):
            entry = self.entries.get(call.path[len("/download/"):])
            if entry and entry.id in self.broken:
                return 500, b"", None
            return (200, entry.content, None) if entry and not entry.deleted else (404, b"", None)
        if (call.headers.get("Authorization") or "")[7:] not in self.tokens:
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}}, None
        if self.throttle:
            self.throttle -= 1
            return 429, {"error": {"code": "TooManyRequests", "message": "Please retry later."}}, {"Retry-After": "1"}
        path = urllib.parse.unquote(call.path[len("/v1.0"):])
        for pattern, handler in self._routes():
            if call.method == pattern[0] and (found := _match(pattern[1], path)) is not None:
                return handler(call, *found)
        return _error(404, "itemNotFound", f"{path} not found")

    def _routes(self):
        return [(("GET", "/sites/{host}:{path}"), self._site_by_path), (("GET", "/sites/{id}"), self._site),
                (("GET", "/sites/{id}/drive"), self._default),
                (("GET", "/sites/{id}/drives"), self._drives), (("GET", "/users/{upn}/drive"), self._user),
                (("GET", "/drives/{d}/root/delta"), self._delta), (("GET", "/drives/{d}/root"), self._root),
                (("GET", "/drives/{d}/root:/{path}"), self._by_path),
                (("GET", "/drives/{d}/items/{id}/content"), self._content),
                (("GET", "/drives/{d}/items/{id}"), self._item),
                (("GET", "/sites/{id}/pages/microsoft.graph.sitePage"), self._pages),
                (("GET", "/sites/{id}/pages/{page}/microsoft.graph.sitePage"), self._page),
                (("POST", "/subscriptions"), self._subscribe), (("PATCH", "/subscriptions/{id}"), self._renew),
                (("DELETE", "/subscriptions/{id}"), self._unsubscribe)]

    def _token(self, call: Call):
        form = call.body or {}
        if not call.path.startswith(f"/{self.tenant}/"):
            return 400, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}, None
        if form.get("client_id") != self.client_id:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016: Application not "
                         "found in the directory."}, None
        if form.get("client_secret") != self.secret or form.get("grant_type") != "client_credentials":
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret "
                         "provided."}, None
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}, None

    def _site_by_path(self, call, host, path):
        site = next((s for s in self.sites.values() if s.host == host and s.path == path), None)
        return (200, {"id": site.id}, None) if site else _error(404, "itemNotFound", "Requested site not found")

    def _site(self, call, site_id):
        return (200, {"id": site_id}, None) if site_id in self.sites else _error(404, "itemNotFound", "")

    def _default(self, call, site_id):
        site = self.sites.get(site_id)
        return (200, {"id": next(iter(site.drives.values()))}, None) if site else _error(404, "itemNotFound", "")

    def _drives(self, call, site_id):
        site = self.sites[site_id]
        return 200, {"value": [{"id": d, "name": n} for n, d in site.drives.items()]}, None

    def _user(self, call, upn):
        drive = self.users.get(upn)
        return (200, {"id": drive}, None) if drive else _error(404, "itemNotFound", "User not found")

    def _root(self, call, drive):
        return 200, self._json(self.entries[f"{drive}-root"]), None

    def _by_path(self, call, drive, path):
        try:
            entry = self.folder(drive, path)
        except (KeyError, AttributeError):
            entry = None
        return (200, self._json(entry), None) if entry else _error(404, "itemNotFound", "Item not found")

    def _item(self, call, drive, item_id):
        entry = self.entries.get(item_id)
        return (200, self._json(entry), None) if entry and not entry.deleted else _error(404, "itemNotFound", "")

    def _content(self, call, drive, item_id):
        entry = self.entries.get(item_id)
        if not entry or entry.deleted:
            return _error(404, "itemNotFound", "")
        return 302, b"", {"Location": f"{self.base_url}/download/{item_id}"}

    def _delta(self, call, drive):
        since = int(call.query.get("token", -1))
        if 0 <= since < self.expire_before:
            return 410, {"error": {"code": "resyncRequired", "message": "Resync required. Replace any local items "
                                   "with the server's version (including deletes)."}}, \
                {"Location": f"{self.graph_url}/drives/{drive}/root/delta"}
        at = int(call.query.get("at", self.seq))
        skip = int(call.query.get("skip", 0))
        changed = sorted((e for e in self.entries.values() if e.drive == drive and
                          (e.seq > since if since >= 0 else not e.deleted) and e.seq <= at), key=lambda e: e.seq)
        page = changed[skip:skip + self.page_size]
        answer = {"value": [self._json(e, delta=True) for e in page]}
        base = f"{self.graph_url}/drives/{drive}/root/delta"
        if skip + self.page_size < len(changed):
            answer["@odata.nextLink"] = f"{base}?token={since}&at={at}&skip={skip + self.page_size}"
        else:
            answer["@odata.deltaLink"] = f"{base}?token={at}"
        return 200, answer, None

    def _json(self, entry: Entry, delta: bool = False) -> dict:
        if entry.deleted:
            return {"id": entry.id, "deleted": {"state": "deleted"}, "parentReference": {"driveId": entry.drive}}
        found = {"id": entry.id, "name": entry.name, "eTag": f'"{{{entry.id}}},{entry.version}"',
                 "cTag": f'"c:{{{entry.id}}},{entry.version}"', "size": len(entry.content),
                 "webUrl": f"https://contoso.sharepoint.com/{entry.drive}/{urllib.parse.quote(self._path(entry))}",
                 "parentReference": {"driveId": entry.drive, **({"id": entry.parent} if entry.parent else {})}}
        found |= {"root": {}, "folder": {}} if entry.root else {"folder": {"childCount": 0}} if entry.folder else \
            {"file": {"mimeType": "application/octet-stream"}}
        return found

    def _path(self, entry: Entry) -> str:
        parts = []
        while entry.parent is not None:
            parts.append(entry.name)
            entry = self.entries[entry.parent]
        return "/".join(reversed(parts))

    def _pages(self, call, site_id):
        site = self.sites[site_id]
        return 200, {"value": [{"id": p.id, "name": f"{p.title}.aspx", "title": p.title, "eTag": f'"{p.etag}"',
                                "webUrl": f"https://{site.host}{site.path}/SitePages/{p.id}.aspx"}
                               for p in site.pages.values()]}, None

    def _page(self, call, site_id, page_id):
        page = self.sites[site_id].pages.get(page_id)
        if page is None:
            return _error(404, "itemNotFound", "")
        webpart = {"id": "wp1", "innerHtml": page.html}
        return 200, {"id": page.id, "title": page.title, "canvasLayout": {"horizontalSections": [
            {"columns": [{"webparts": [webpart]}]}]}}, None

    def _subscribe(self, call):
        request = call.body or {}
        token = secrets.token_urlsafe(12)
        status, body = _post(request["notificationUrl"] + "?validationToken=" + urllib.parse.quote(token), b"")
        if status != 200 or body != token.encode():
            return _error(400, "InvalidRequest", "Subscription validation request failed. Response must exactly "
                          "match validationToken query parameter.")
        subscription = {**request, "id": f"sub-{next(self._ids)}"}
        self.subscriptions[subscription["id"]] = subscription
        return 201, subscription, None

    def _renew(self, call, sub_id):
        if sub_id not in self.subscriptions:
            return _error(404, "ResourceNotFound", "The object was not found.")
        self.subscriptions[sub_id]["expirationDateTime"] = call.body["expirationDateTime"]
        return 200, self.subscriptions[sub_id], None

    def _unsubscribe(self, call, sub_id):
        self.subscriptions.pop(sub_id, None)
        return 204, b"", None


def _match(pattern: str, path: str) -> tuple | None:
    import re

    regex = re.sub(r"\\\{(\w+)\\\}", lambda m: "(.+)" if m.group(1) == "path" else "([^/:]+)", re.escape(pattern))
    found = re.fullmatch(regex, path)
    return found.groups() if found else None


def _error(status: int, code: str, message: str):
    return status, {"error": {"code": code, "message": message}}, None


def _post(url: str, data: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""
