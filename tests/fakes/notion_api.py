"""A fake Notion API on 127.0.0.1 port 0 answering what a source asks, shaped as the reference shows it:
POST /v1/search, GET /v1/pages/{id}, GET /v1/blocks/{id}/children (start_cursor / has_more / next_cursor; a child
page appears in its parent as a child_page block). Errors as Notion sends them ({"object": "error", "status",
"code", "message"}); a Bearer integration secret and a Notion-Version header are required.

Knobs: `page_size` (the most results per answer), `throttle` (the next N requests get 429 rate_limited with
Retry-After: 1), `fail` (a path fragment -> HTTP status), and the content (edit, rename, trash, unshare)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tests.fakes.http import Call, FakeService

CODES = {400: "validation_error", 401: "unauthorized", 403: "restricted_resource", 404: "object_not_found",
         429: "rate_limited"}


def text(content: str, href: str | None = None) -> list[dict]:
    return [{"type": "text", "text": {"content": content, "link": {"url": href} if href else None},
             "annotations": {"bold": False, "italic": False, "strikethrough": False, "underline": False,
                             "code": False, "color": "default"},
             "plain_text": content, "href": href}]


def block(kind: str, content: str = "", children: list[dict] | None = None, **extra) -> dict:
    """A block as the API shows it; `children` is kept beside it for GET /blocks/{id}/children."""
    body = extra if kind in ("divider", "table", "table_row") else {"rich_text": text(content), "color": "default",
                                                                    **extra}
    return {"object": "block", "id": str(uuid.uuid4()), "type": kind, kind: body,
            "has_children": bool(children), "archived": False, "in_trash": False, "children": children or []}


def table(rows: list[list[str]]) -> dict:
    cells = [block("table_row", cells=[text(c) for c in row]) for row in rows]
    return block("table", children=cells, table_width=len(rows[0]), has_column_header=True, has_row_header=False)


@dataclass
class Page:
    id: str
    title: str
    blocks: list[dict]
    parent: str | None = None
    edited: int = 0            # minutes after the fake's epoch (Notion rounds last_edited_time to minutes)
    in_trash: bool = False
    shared: bool = True        # shared with the integration (its children inherit it)
    in_search: bool = True     # search is not guaranteed to list everything


class FakeNotion(FakeService):
    def __init__(self, token: str = "ntn_fake_secret_1234", page_size: int = 2):
        self.token = token
        self.page_size = page_size
        self.pages: dict[str, Page] = {}
        self.throttle = 0
        self.fail: dict[str, int] = {}
        self.epoch = datetime.now(timezone.utc) - timedelta(days=1)  # pages were last edited well before a run
        super().__init__()

    @property
    def url(self) -> str:
        return self.base_url

    # --- content -------------------------------------------------------------------------------------------
    def add_page(self, title: str, blocks: list[dict], parent: Page | None = None) -> Page:
        page = Page(str(uuid.uuid4()), title, blocks, parent.id if parent else None)
        self.pages[page.id] = page
        return page

    def edit(self, page: Page, blocks: list[dict] | None = None, title: str | None = None) -> None:
        page.blocks = blocks if blocks is not None else page.blocks
        page.title = title if title is not None else page.title
        page.edited += 1

    def block_downloads(self) -> list[str]:
        return [r.path for r in self.requests if r.path.startswith("/v1/blocks/")]

    # --- the API -------------------------------------------------------------------------------------------
    def answer(self, call: Call):
        return self._answer(call.method, call.path, call.query, call.body, call.headers)

    def _answer(self, method, path, query, body, headers):
        if headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "API token is invalid.")
        if not headers.get("Notion-Version"):
            return _error(400, "Notion-Version header failed validation: Notion-Version header should be defined.",
                          code="missing_version")
        for fragment, status in self.fail.items():
            if fragment in path:
                return _error(status, "The integration may not perform this operation." if status == 403 else
                              f"Could not find object with ID: {fragment}. Make sure the relevant pages and "
                              "databases are shared with your integration.")
        if self.throttle > 0:
            self.throttle -= 1
            return _error(429, "You have been rate limited. Please try again in a few minutes.",
                          headers={"Retry-After": "1"})
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "search"]:
            return self._search(body or {})
        if method == "GET" and parts[:2] == ["v1", "pages"] and len(parts) == 3:
            page = self._visible(parts[2])
            return (200, self._page(page), {}) if page else _not_found(parts[2])
        if method == "GET" and parts[:2] == ["v1", "blocks"] and parts[3:] == ["children"]:
            return self._children(parts[2], query)
        return _error(400, f"Invalid request URL: {method} {path}", code="invalid_request_url")

    def _visible(self, page_id: str) -> Page | None:
        page = self.pages.get(page_id)
        ancestor = page
        while ancestor is not None and not ancestor.shared:
            ancestor = self.pages.get(ancestor.parent) if ancestor.parent else None
        return page if ancestor is not None else None

    def _search(self, body: dict):
        if (body.get("filter") or {}).get("value") not in ("page", None):
            return _error(400, "This fake searches pages only.")
        found = [self._page(p) for p in self.pages.values() if p.in_search and self._visible(p.id)]
        return self._paged(found, body.get("start_cursor"), body.get("page_size"), "page_or_data_source")

    def _children(self, block_id: str, query: dict):
        page = self._visible(block_id)
        if page is not None:
            children = [_shown(b) for b in page.blocks]
            children += [_child_page(p) for p in self.pages.values() if p.parent == page.id and not p.in_trash]
        else:
            found = _find_block(block_id, [b for p in self.pages.values() if self._visible(p.id) for b in p.blocks])
            if found is None:
                return _not_found(block_id)
            children = [_shown(b) for b in found["children"]]
        return self._paged(children, query.get("start_cursor"), query.get("page_size"), "block")

    def _paged(self, results: list[dict], cursor: str | None, page_size, kind: str):
        size = min(int(page_size or 100), self.page_size)
        start = next((n for n, r in enumerate(results) if r["id"] == cursor), 0) if cursor else 0
        chunk = results[start:start + size]
        more = start + size < len(results)
        return 200, {"object": "list", "results": chunk, "next_cursor": results[start + size]["id"] if more else None,
                     "has_more": more, "type": kind, kind: {}, "request_id": str(uuid.uuid4())}, {}

    def _page(self, page: Page) -> dict:
        edited = (self.epoch + timedelta(minutes=page.edited)).strftime("%Y-%m-%dT%H:%M:00.000Z")
        parent = {"type": "page_id", "page_id": page.parent} if page.parent else {"type": "workspace",
                                                                                   "workspace": True}
        return {"object": "page", "id": page.id, "created_time": self.epoch.strftime("%Y-%m-%dT%H:%M:00.000Z"),
                "last_edited_time": edited, "archived": page.in_trash, "in_trash": page.in_trash,
                "parent": parent, "url": f"https://www.notion.so/{page.id.replace('-', '')}",
                "properties": {"title": {"id": "title", "type": "title", "title": text(page.title)}}}


def _shown(block: dict) -> dict:
    return {k: v for k, v in block.items() if k != "children"}


def _child_page(page: Page) -> dict:
    return {"object": "block", "id": page.id, "type": "child_page", "child_page": {"title": page.title},
            "has_children": True, "archived": False, "in_trash": False}


def _find_block(block_id: str, blocks: list[dict]) -> dict | None:
    for candidate in blocks:
        if candidate["id"] == block_id:
            return candidate
        found = _find_block(block_id, candidate["children"])
        if found is not None:
            return found
    return None


def _not_found(object_id: str):
    return _error(404, f"Could not find block with ID: {object_id}. Make sure the relevant pages and databases are "
                       "shared with your integration.")


def _error(status: int, message: str, code: str | None = None, headers: dict | None = None):
    return status, {"object": "error", "status": status, "code": code or CODES[status], "message": message,
                    "request_id": str(uuid.uuid4())}, headers or {}
