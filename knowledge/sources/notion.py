"""The Notion kind: pages shared with an integration, each as a Markdown document, through Notion's API with
notion-client (https://developers.notion.com/reference/intro).

Either root_pages (and their child pages, recursively) or search: true (every page shared with the integration;
Notion does not promise that search is complete, so root pages are the reliable choice). An item is keyed by its
page id; its last_edited_time is the etag, so an unchanged page costs no block download."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath

from knowledge.errors import ConfigurationError
from knowledge.sources.items import Fetched, Item, Listing, Seen, SourceError, as_bool, as_list
from knowledge.sources.transport import MAX_RETRY_AFTER, RETRIES

log = logging.getLogger(__name__)

NOTION_VERSION = "2025-09-03"  # the API version we speak, fixed so a library upgrade does not change answers
API_URL = "https://api.notion.com"
PAGE_SIZE = 100  # Notion's maximum
TIMEOUT_MS = 30_000
LAYOUT = ("column_list", "column")  # blocks that only arrange others: child pages inside them count too
MAX_DEPTH = 12  # nested blocks rendered; deeper ones are rare and left out
SETTLED = timedelta(minutes=2)  # last_edited_time is rounded to the minute
SHARE_ADVICE = ("share it with the integration (in Notion, the page's ••• menu > Connections > add the "
                "integration), or check the id")
HEADINGS = {"heading_1": "##", "heading_2": "###", "heading_3": "####"}  # the page title is the only "#"


class NotShared(SourceError):
    """404 object_not_found: deleted, or not shared with the integration."""


def notion_listing(settings: dict, max_bytes: int) -> Listing:
    """The pages under settings['root_pages'], or every page shared with the integration (settings['search']);
    those in the trash are left out, so the runner retires them."""
    api = Api(_client(settings))
    roots = [page_id(value) for value in as_list(settings.get("root_pages"))]
    if roots:
        pages = api.tree(roots)
    elif as_bool(settings.get("search")):
        pages = api.shared_pages()
    else:
        raise ConfigurationError("A Notion source needs root_pages (page ids or links) or search: true.")
    live = [page for page in pages if not (page.get("archived") or page.get("in_trash"))]
    names = document_names(live)
    listing = Listing()
    for page in live:
        listing.items.append(Item(page["id"], names[page["id"]], api.page_fetcher(page, names[page["id"]]),
                                  url=page.get("url")))
    return listing


class Api:
    def __init__(self, client):
        self.client = client
        self.top_blocks: dict[str, list[dict]] = {}  # page id -> its blocks, read while walking the tree

    def tree(self, roots: list[str]) -> list[dict]:
        """The root pages and every child page under them (also those placed inside columns)."""
        pages: dict[str, dict] = {}
        queue = [(root, True) for root in roots]
        while queue:
            current, is_root = queue.pop(0)
            if current in pages:
                continue
            try:
                page = self.call(self.client.pages.retrieve, f"the page {current}", page_id=current)
            except NotShared:
                if is_root:
                    raise SourceError(f"Notion cannot find the root page {current} (404): {SHARE_ADVICE}.") from None
                continue  # deleted since its parent listed it
            pages[current] = page
            if page.get("archived") or page.get("in_trash"):
                continue
            blocks = self.children(current, f"the page {page_title(page)!r}")
            self.top_blocks[current] = blocks
            queue += [(child, False) for child in self.child_pages(blocks)]
        return list(pages.values())

    def child_pages(self, blocks: list[dict]) -> list[str]:
        found = []
        for block in blocks:
            if block.get("type") == "child_page":
                found.append(block["id"])
            elif block.get("type") in LAYOUT and block.get("has_children"):
                found += self.child_pages(self.children(block["id"], "a column of a page"))
        return found

    def shared_pages(self) -> list[dict]:
        return list(self.paged(self.client.search, "the pages shared with the integration",
                               filter={"property": "object", "value": "page"}))

    def page_fetcher(self, page: dict, document: str):
        edited = page.get("last_edited_time")
        name = PurePosixPath(document).name

        def fetch(seen: Seen | None) -> Fetched:
            if seen and edited and seen.etag == edited:
                return Fetched(None, name, etag=edited)
            try:
                text = self.markdown(page)
            except NotShared:
                return Fetched(gone=True)
            return Fetched(text.encode(), name, etag=etag_for(edited))
        return fetch

    def markdown(self, page: dict) -> str:
        title = page_title(page) or "Untitled"
        blocks = self.top_blocks.get(page["id"])
        if blocks is None:
            blocks = self.children(page["id"], f"the page {title!r}")
        return "\n".join([f"# {title}", "", *self.render(blocks, "", 0)]).rstrip() + "\n"

    def render(self, blocks: list[dict], indent: str, depth: int) -> list[str]:
        """Blocks as Markdown lines, their children read (every page of them) and indented under list items."""
        lines: list[str] = []
        number = 0
        for block in blocks:
            kind = block.get("type", "")
            number = number + 1 if kind == "numbered_list_item" else 0
            if kind == "table":
                rows = self.children(block["id"], "a table")
                lines += [indent + line for line in table_lines(rows)] + [""]
                continue
            lines += block_lines(block, indent, number)
            if block.get("has_children") and kind not in ("child_page", "child_database") and depth < MAX_DEPTH:
                nested = self.children(block["id"], "the blocks inside a block")
                lines += self.render(nested, indent + ("  " if kind in INDENTING else ""), depth + 1)
        return lines

    def children(self, block_id: str, what: str) -> list[dict]:
        return list(self.paged(self.client.blocks.children.list, what, block_id=block_id))

    def paged(self, endpoint, what: str, **arguments):
        """Every result of a paginated endpoint (start_cursor / has_more / next_cursor)."""
        cursor = None
        while True:
            answer = self.call(endpoint, what, page_size=PAGE_SIZE, **arguments,
                               **({"start_cursor": cursor} if cursor else {}))
            yield from answer.get("results") or []
            cursor = answer.get("next_cursor")
            if not answer.get("has_more") or not cursor:
                return

    @staticmethod
    def call(endpoint, what: str, **arguments) -> dict:
        """One request (the client waits out 429 itself); its failures as a SourceError with advice."""
        import httpx
        from notion_client.errors import APIResponseError, HTTPResponseError, RequestTimeoutError

        try:
            return endpoint(**arguments)
        except APIResponseError as exc:
            raise refusal(exc.status, str(getattr(exc.code, "value", exc.code)), what) from None
        except HTTPResponseError as exc:
            raise SourceError(f"Notion answered HTTP {exc.status} for {what}.") from None
        except RequestTimeoutError:
            raise SourceError(f"Notion did not answer within {TIMEOUT_MS // 1000} s for {what}.") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"Notion cannot be reached ({type(exc).__name__}).") from None


def refusal(status: int, code: str, what: str) -> SourceError:
    if status == 401 or code == "unauthorized":
        return SourceError("Notion refused the token (401): check that `token` points to the integration's current "
                           "internal integration secret (Settings > Connections > Develop or manage integrations).")
    if status == 403 or code == "restricted_resource":
        return SourceError(f"Notion refused access to {what} (403): give the integration the 'Read content' "
                           f"capability, and {SHARE_ADVICE}.")
    if status == 404 or code == "object_not_found":
        return NotShared(f"Notion cannot find {what} (404): {SHARE_ADVICE}.")
    if status == 429 or code == "rate_limited":
        return SourceError(f"Notion kept rate limiting {what} (429) after {RETRIES} waits; the run is tried again "
                           "later.")
    return SourceError(f"Notion answered HTTP {status} ({code}) for {what}.")


def _client(settings: dict):
    from knowledge.sources.items import resolve_secret

    try:
        from notion_client import Client, RetryOptions
    except ImportError:
        raise ConfigurationError("Notion sources need the notion-client package (3.1 or later): "
                                 "pip install 'notion-client>=3.1,<4'.") from None
    if not settings.get("token"):
        raise ConfigurationError("A Notion source needs token: env:VARIABLE or file:/path holding the integration's "
                                 "secret.")
    # notion-client waits out 429 (and GET 500/503) itself, as long as Retry-After asks, up to the cap
    retry = RetryOptions(max_retries=RETRIES, max_retry_delay_ms=int(MAX_RETRY_AFTER * 1000))
    from knowledge.sources.deadlines import httpx_client

    return Client(auth=resolve_secret(settings["token"]), base_url=settings.get("base_url") or API_URL,
                  notion_version=NOTION_VERSION, timeout_ms=TIMEOUT_MS, retry=retry,
                  logger=logging.getLogger(f"{__name__}.client"),
                  client=httpx_client())  # and a limit for the whole answer, which httpx lacks


# --- pages to Markdown ------------------------------------------------------------------------------------

INDENTING = ("bulleted_list_item", "numbered_list_item", "to_do", "toggle")


def block_lines(block: dict, indent: str, number: int) -> list[str]:
    """One block as Markdown lines (without its children)."""
    kind = block.get("type", "")
    body = block.get(kind) or {}
    text = rich_text(body.get("rich_text"))
    if kind in HEADINGS:
        return [f"{HEADINGS[kind]} {text}", ""]
    if kind == "paragraph":
        return [indent + text, ""] if text else []
    if kind == "bulleted_list_item" or kind == "toggle":
        return [f"{indent}- {text}"]
    if kind == "numbered_list_item":
        return [f"{indent}{number}. {text}"]
    if kind == "to_do":
        return [f"{indent}- [{'x' if body.get('checked') else ' '}] {text}"]
    if kind == "quote":
        return [f"{indent}> {text}", ""]
    if kind == "callout":
        icon = (body.get("icon") or {}).get("emoji") or ""
        return [f"{indent}> {icon} {text}".replace(">  ", "> "), ""]
    if kind == "code":
        return [f"{indent}```{body.get('language') or ''}", *[indent + line for line in text.splitlines()],
                f"{indent}```", ""]
    if kind == "equation":
        return [f"{indent}$$ {body.get('expression', '')} $$", ""]
    if kind == "divider":
        return ["---", ""]
    if kind in ("bookmark", "link_preview", "embed") and body.get("url"):
        caption = rich_text(body.get("caption"))
        return [f"{indent}[{caption or body['url']}]({body['url']})", ""]
    return []  # child pages are documents of their own; images, files and the like hold no text


def table_lines(rows: list[dict]) -> list[str]:
    """table_row blocks as Markdown table rows, the first as the header."""
    lines = []
    for n, row in enumerate(rows):
        cells = [rich_text(cell).replace("|", "/") for cell in (row.get("table_row") or {}).get("cells") or []]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "---|" * len(cells))
    return lines


def rich_text(parts) -> str:
    out = []
    for part in parts or []:
        text = part.get("plain_text") or ""
        href = part.get("href")
        out.append(f"[{text}]({href})" if href and text and not text.startswith("http") else text)
    return "".join(out)


def page_title(page: dict) -> str:
    for prop in (page.get("properties") or {}).values():
        if prop.get("type") == "title":
            return " ".join(rich_text(prop.get("title")).split())
    return ""


def document_names(pages: list[dict]) -> dict[str, str]:
    """notion/<title>.md per page id; pages sharing a title get the start of their id to tell them apart."""
    titles = {page["id"]: (page_title(page) or "Untitled").replace("/", "-") for page in pages}
    counts: dict[str, int] = {}
    for title in titles.values():
        counts[title.lower()] = counts.get(title.lower(), 0) + 1
    return {pid: f"notion/{title}" + (f" ({pid.replace('-', '')[:8]})" if counts[title.lower()] > 1 else "") + ".md"
            for pid, title in titles.items()}


def etag_for(edited: str | None) -> str | None:
    """last_edited_time, unless it is so recent that another edit may still land in the same minute: then one
    that will not match, so the next run reads the page again (unchanged content costs nothing more)."""
    if not edited:
        return None
    try:
        moment = datetime.fromisoformat(edited.replace("Z", "+00:00"))
    except ValueError:
        return edited
    return edited if datetime.now(timezone.utc) - moment >= SETTLED else f"{edited} (recent)"


def page_id(value: str) -> str:
    """A page id from an id or a page's link (the 32 hex digits at its end), dashed as the API shows it."""
    match = re.search(r"([0-9a-f]{32})(?:[?#].*)?$", value.replace("-", "").lower())
    if not match:
        raise ConfigurationError(f"{value!r} is not a Notion page id or link.")
    hex_id = match.group(1)
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
