"""A fake Confluence (Cloud layout: everything under /wiki) on 127.0.0.1 port 0, answering the v1 REST calls a
source makes as the documentation shows them: spaces, paginated content listings with `_links.next` (the server
caps `limit`, as Confluence does), pages with body.storage, attachments and their downloads.

Authentication as Cloud checks it: Basic email:API-token (or Bearer for a Data Center personal access token).
Knobs: `page_size` (the cap), `throttle` (the next N requests get 429 Retry-After: 1), `fail` (a path fragment
-> HTTP status), and the content itself (rename, move, delete, a huge attachment)."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlencode

from tests.fakes.http import Call, FakeService

CONTEXT = "/wiki"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class Page:
    id: str
    space: str
    title: str
    body: str
    version: int = 1
    labels: list[str] = field(default_factory=list)


@dataclass
class Attachment:
    id: str
    page_id: str
    title: str
    media_type: str
    data: bytes
    version: int = 1
    listed_size: int | None = None  # what the listing says; the real size when None


class FakeConfluence(FakeService):
    content_type = "application/json;charset=UTF-8"

    def __init__(self, user: str = "bot@example.com", token: str = "atl-token-0a1b2c3d", page_size: int = 2):
        self.user, self.token, self.bearer = user, token, None  # bearer: a Data Center PAT accepted instead
        self.page_size = page_size
        self.spaces = {"HR": "People", "OPS": "Operations"}
        self.pages: dict[str, Page] = {}
        self.attachments: dict[str, Attachment] = {}
        self.throttle = 0
        self.fail: dict[str, int] = {}
        self._ids = 100
        super().__init__()

    @property
    def url(self) -> str:
        return f"{self.base_url}{CONTEXT}"

    # --- content -------------------------------------------------------------------------------------------
    def add_page(self, space: str, title: str, body: str, labels: list[str] | None = None) -> Page:
        self._ids += 1
        page = Page(str(self._ids), space, title, body, labels=labels or [])
        self.pages[page.id] = page
        return page

    def attach(self, page: Page, title: str, data: bytes, media_type: str = "application/pdf",
               listed_size: int | None = None) -> Attachment:
        self._ids += 1
        attachment = Attachment(f"att{self._ids}", page.id, title, media_type, data, listed_size=listed_size)
        self.attachments[attachment.id] = attachment
        return attachment

    def edit(self, page: Page, body: str | None = None, title: str | None = None) -> None:
        """An edit or a rename: a new version, as Confluence makes one."""
        page.body = body if body is not None else page.body
        page.title = title if title is not None else page.title
        page.version += 1

    def delete(self, page: Page) -> None:
        """Moved to the trash: gone from status=current listings and from content/{id}."""
        del self.pages[page.id]

    def body_downloads(self) -> list[str]:
        return [r.path for r in self.requests if "body.storage" in r.query.get("expand", "")]

    def file_downloads(self) -> list[str]:
        return [r.path for r in self.requests if r.path.startswith(f"{CONTEXT}/download/")]

    # --- the API -------------------------------------------------------------------------------------------
    def answer(self, call: Call):
        return self._answer(call.path, call.query, call.headers.get("Authorization"))

    def _answer(self, path: str, query: dict, authorization: str | None):
        if not self._authorized(authorization):
            return 401, {"statusCode": 401, "message": "Client must be authenticated to access this resource."}, {}
        for fragment, status in self.fail.items():
            if fragment in path:
                return status, {"statusCode": status, "data": {"authorized": False, "valid": True, "errors": [],
                                                               "successful": False},
                                "message": "You are not permitted to view this content."}, {}
        if self.throttle > 0:
            self.throttle -= 1
            return 429, {"statusCode": 429, "message": "Rate limit exceeded."}, {"Retry-After": "1"}
        if not path.startswith(CONTEXT + "/"):
            return 404, {"statusCode": 404, "message": "Not found"}, {}
        parts = path[len(CONTEXT):].strip("/").split("/")
        if parts[:3] == ["rest", "api", "space"] and len(parts) == 4:
            return self._space(parts[3])
        if parts == ["rest", "api", "content"]:
            return self._listing(query)
        if parts[:3] == ["rest", "api", "content"] and len(parts) == 4:
            return self._page(parts[3], query)
        if parts[:3] == ["rest", "api", "content"] and parts[4:] == ["child", "attachment"]:
            return self._attachments(parts[3], query)
        if parts[:2] == ["download", "attachments"] and len(parts) == 4:
            return self._download(parts[2], parts[3])
        return 404, {"statusCode": 404, "message": f"No resource at {path}"}, {}

    def _authorized(self, authorization: str | None) -> bool:
        if self.bearer is not None:
            return authorization == f"Bearer {self.bearer}"
        expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return authorization == f"Basic {expected}"

    def _space(self, key: str):
        if key not in self.spaces:
            return 404, {"statusCode": 404, "message": f"No space with key : {key}"}, {}
        return 200, {"id": abs(hash(key)) % 10**6, "key": key, "name": self.spaces[key], "type": "global",
                     "_links": {"webui": f"/spaces/{key}", "self": f"{self.url}/rest/api/space/{key}"}}, {}

    def _listing(self, query: dict):
        if query.get("type") != "page" or query.get("status", "current") != "current":
            return 400, {"statusCode": 400, "message": "This fake lists current pages only."}, {}
        pages = [p for p in self.pages.values() if p.space == query.get("spaceKey")]
        expand = query.get("expand", "").split(",")
        return 200, self._collection("/rest/api/content", query, [self._content(p, expand) for p in pages]), {}

    def _page(self, page_id: str, query: dict):
        page = self.pages.get(page_id)
        if page is None:
            return 404, {"statusCode": 404, "message": "No content found with id: ContentId{id=%s}" % page_id}, {}
        return 200, self._content(page, query.get("expand", "").split(",")), {}

    def _attachments(self, page_id: str, query: dict):
        if page_id not in self.pages:
            return 404, {"statusCode": 404, "message": "No content found"}, {}
        found = [self._attachment(a) for a in self.attachments.values() if a.page_id == page_id]
        return 200, self._collection(f"/rest/api/content/{page_id}/child/attachment", query, found), {}

    def _download(self, page_id: str, file_name: str):
        for attachment in self.attachments.values():
            if attachment.page_id == page_id and attachment.title == unquote(file_name):
                return 200, attachment.data, {}
        return 404, {"statusCode": 404, "message": "Attachment not found"}, {}

    def _collection(self, path: str, query: dict, results: list[dict]) -> dict:
        start = int(query.get("start", 0))
        limit = min(int(query.get("limit", 25)), self.page_size)
        chunk = results[start:start + limit]
        links = {"base": self.url, "context": CONTEXT, "self": f"{self.url}{path}?{urlencode(query)}"}
        if start + limit < len(results):
            links["next"] = f"{path}?{urlencode({**query, 'start': start + limit, 'limit': limit})}"
        return {"results": chunk, "start": start, "limit": limit, "size": len(chunk), "_links": links}

    def _content(self, page: Page, expand: list[str]) -> dict:
        content = {"id": page.id, "type": "page", "status": "current", "title": page.title,
                   "_links": {"webui": f"/spaces/{page.space}/pages/{page.id}/{quote(page.title)}",
                              "self": f"{self.url}/rest/api/content/{page.id}"},
                   "_expandable": {"space": f"/rest/api/space/{page.space}"}}
        if "version" in expand:
            content["version"] = {"number": page.version, "when": "2026-01-05T10:00:00.000Z", "minorEdit": False}
        if "metadata.labels" in expand:
            labels = [{"prefix": "global", "name": name, "id": str(n)} for n, name in enumerate(page.labels)]
            content["metadata"] = {"labels": {"results": labels, "start": 0, "limit": 200, "size": len(labels)}}
        if "body.storage" in expand:
            content["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        return content

    def _attachment(self, attachment: Attachment) -> dict:
        size = attachment.listed_size if attachment.listed_size is not None else len(attachment.data)
        download = (f"/download/attachments/{attachment.page_id}/{quote(attachment.title)}"
                    f"?version={attachment.version}&modificationDate=1767607200000&api=v2")
        return {"id": attachment.id, "type": "attachment", "status": "current", "title": attachment.title,
                "version": {"number": attachment.version},
                "metadata": {"mediaType": attachment.media_type, "comment": ""},
                "extensions": {"mediaType": attachment.media_type, "fileSize": size, "comment": ""},
                "_links": {"download": download,
                           "webui": f"/pages/viewpageattachments.action?pageId={attachment.page_id}"}}
