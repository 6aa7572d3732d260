"""The Confluence kind: every current page of one or more spaces (and, if asked, their PDF and DOCX attachments),
through Confluence's REST API (v1 content endpoints, Cloud and Data Center alike) with atlassian-python-api.

An item is keyed by its content id, so a page that is renamed or moved keeps its identity; its version number is
the etag, so an unchanged page costs no body download."""
from __future__ import annotations

import html
import logging
import time
import urllib.parse
from pathlib import PurePosixPath

from knowledge.errors import ConfigurationError
from knowledge.sources.items import Fetched, Item, Listing, Seen, SourceError, as_bool, as_list
from knowledge.sources.transport import MAX_RETRY_AFTER, RETRIES, retry_after

log = logging.getLogger(__name__)

PAGE_LIMIT = 100  # asked per listing request; servers cap it lower, so `_links.next` is always followed
TIMEOUT = 30
ATTACHMENT_TYPES = {"application/pdf": ".pdf",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}
PERMISSIONS_ADVICE = ("the account behind the source's `user` (or token) needs permission to view the space "
                      "(Space settings > Permissions) and must not be shut out by page restrictions")


class NotThere(SourceError):
    """404: deleted since it was listed, or never visible to the account."""


def confluence_listing(settings: dict, max_bytes: int) -> Listing:
    """Every current page of settings['space'] / settings['spaces'], optionally only those with one of
    settings['labels'], plus their PDF/DOCX attachments when settings['attachments'] is true."""
    site = site_url(settings.get("url"))
    api = Api(_client(settings, site), site)
    labels = set(as_list(settings.get("labels")))
    spaces = as_list(settings.get("spaces")) or as_list(settings.get("space"))
    if not spaces:
        raise ConfigurationError("A Confluence source needs space (a space key) or spaces.")
    listing = Listing()
    for space in spaces:
        api.check_space(space)
        for page in api.pages(space, with_labels=bool(labels)):
            if labels and not labels & page_labels(page):
                continue
            document = page_document(space, page["title"])
            listing.items.append(Item(page["id"], document, api.page_fetcher(page), url=api.web_link(page)))
            if as_bool(settings.get("attachments")):
                _add_attachments(api, listing, page, document, max_bytes)
    return listing


def _add_attachments(api: Api, listing: Listing, page: dict, page_document_name: str,
                     max_bytes: int) -> None:
    folder = page_document_name.removesuffix(".html")
    for attachment in api.attachments(page):
        name = attachment_name(attachment)
        if name is None:
            continue  # images, spreadsheets ...: not documents the knowledge base reads
        document = f"{folder}/{name}"
        size = (attachment.get("extensions") or {}).get("fileSize")
        if isinstance(size, int) and size > max_bytes:
            reason = (f"{document} is too large ({size / 1048576:.1f} MB; the limit is "
                      f"{max_bytes / 1048576:.0f} MB, HRBOT_MAX_UPLOAD_MB)")
            log.warning("confluence: skipped %s", reason)
            listing.skipped.append(reason)
            continue
        listing.items.append(Item(attachment["id"], document, api.attachment_fetcher(attachment, name, max_bytes),
                                  url=api.web_link(attachment)))


# --- the API -------------------------------------------------------------------------------------------------

class Api:
    """The few v1 REST calls a run makes, each turned into a SourceError a person can act on."""

    def __init__(self, client, site: str):
        self.client = client
        self.site = site

    def check_space(self, space: str) -> None:
        # Content listings of a space the account cannot see come back empty, which would retire everything.
        try:
            self.get(f"rest/api/space/{urllib.parse.quote(space)}", f"the space {space}")
        except NotThere:
            raise SourceError(f"Confluence has no space {space!r} that this account can see: check the space key "
                              f"(in its address, /spaces/KEY/) and that {PERMISSIONS_ADVICE}.") from None

    def pages(self, space: str, with_labels: bool):
        expand = "version,metadata.labels" if with_labels else "version"
        return self.paged("rest/api/content", f"the pages of space {space}",
                          {"spaceKey": space, "type": "page", "status": "current", "expand": expand})

    def attachments(self, page: dict):
        return self.paged(f"rest/api/content/{page['id']}/child/attachment",
                          f"the attachments of {page['title']!r}", {"expand": "version"})

    def page_fetcher(self, page: dict):
        listed = version_of(page)

        def fetch(seen: Seen | None) -> Fetched:
            name = PurePosixPath(page_document("", page["title"])).name
            if seen and listed and seen.etag == listed:
                return Fetched(None, name, etag=listed)
            try:
                full = self.get(f"rest/api/content/{page['id']}", f"the page {page['title']!r}",
                                {"expand": "body.storage,version"})
            except NotThere:
                return Fetched(gone=True)
            storage = ((full.get("body") or {}).get("storage") or {}).get("value") or ""
            return Fetched(page_html(full.get("title") or page["title"], storage), name,
                           etag=version_of(full) or listed)
        return fetch

    def attachment_fetcher(self, attachment: dict, name: str, max_bytes: int):
        listed = version_of(attachment)

        def fetch(seen: Seen | None) -> Fetched:
            if seen and listed and seen.etag == listed:
                return Fetched(None, name, etag=listed)
            link = (attachment.get("_links") or {}).get("download")
            if not link:
                raise SourceError(f"Confluence listed the attachment {name!r} without a download link.")
            try:
                data = self.get(self.absolute(link), f"the attachment {name!r}", absolute=True, raw=True)
            except NotThere:
                return Fetched(gone=True)
            if len(data) > max_bytes:  # its listed size was wrong
                raise SourceError(f"The attachment {name!r} is larger than {max_bytes // 1048576} MB "
                                  "(HRBOT_MAX_UPLOAD_MB).")
            return Fetched(data, name, etag=listed)
        return fetch

    def web_link(self, content: dict) -> str | None:
        """The page's address for citations: a path under the site. Anything else the API says is left out
        (`.evil.example/x` after `https://wiki.corp` would be another host behind the page's title)."""
        webui = (content.get("_links") or {}).get("webui")
        if not isinstance(webui, str) or not webui.startswith("/") or webui.startswith("//"):
            return None
        return self.site + webui

    def absolute(self, link: str) -> str:
        """A link from an answer, under the configured site (credentials are never sent elsewhere)."""
        if link.startswith(("http://", "https://")):
            if not link.startswith(self.site + "/"):
                raise SourceError(f"Confluence pointed outside {self.site} ({urllib.parse.urlsplit(link).netloc}).")
            return link
        return self.site + "/" + link.lstrip("/")

    def paged(self, path: str, what: str, params: dict):
        """Every result of a collection, following `_links.next` (relative to the site's context path)."""
        answer = self.get(path, what, {**params, "limit": PAGE_LIMIT})
        while True:
            results = answer.get("results") or []
            yield from results
            link = (answer.get("_links") or {}).get("next")
            if not link or not results:
                return
            answer = self.get(self.absolute(link), what, absolute=True)

    def get(self, path: str, what: str, params: dict | None = None, *, absolute: bool = False, raw: bool = False):
        """One GET; 429/503 with Retry-After (up to MAX_RETRY_AFTER) is waited out, RETRIES times at most."""
        from atlassian.errors import ApiError
        from requests import HTTPError, RequestException

        for attempt in range(RETRIES + 1):
            try:
                answer = self.client.get(path, params=params, absolute=absolute, not_json_response=raw)
            except HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else None
                wait = retry_after(exc.response.headers.get("Retry-After")) if status in (429, 503) else None
                if wait is not None and wait <= MAX_RETRY_AFTER and attempt < RETRIES:
                    log.warning("confluence answered %d for %s; waiting %.0f s as it asked", status, what, wait)
                    time.sleep(wait)
                    continue
                raise refusal(status, what) from None
            except RequestException as exc:
                raise SourceError(f"Confluence at {self.site} cannot be reached ({type(exc).__name__}).") from None
            except ApiError as exc:  # raised by some of the library's helpers instead of HTTPError
                raise refusal(_status_of(exc), what) from None
            if answer is None or (not raw and not isinstance(answer, dict)):
                raise SourceError(f"Confluence at {self.site} did not answer with JSON for {what}: check the url "
                                  "(a Cloud site's ends in /wiki).")
            return answer


def refusal(status: int | None, what: str) -> SourceError:
    if status == 401:
        return SourceError("Confluence refused the credentials (401): check that `user` is the account's email and "
                           "`token` one of its current API tokens (on Data Center with `auth: bearer`, a personal "
                           "access token).")
    if status == 403:
        return SourceError(f"Confluence refused access to {what} (403): {PERMISSIONS_ADVICE}.")
    if status == 404:
        return NotThere(f"Confluence has no {what} (404), or this account may not see it.")
    if status in (429, 503):
        return SourceError(f"Confluence kept answering {status} (rate limited or busy) for {what} after {RETRIES} "
                           f"waits, or asked to wait longer than {MAX_RETRY_AFTER:.0f} s; the run is tried again "
                           "later.")
    return SourceError(f"Confluence answered HTTP {status} for {what}." if status else
                       f"Confluence could not give {what}.")


def _status_of(exc: Exception) -> int | None:
    for holder in (getattr(exc, "reason", None), exc):  # ApiError(reason=HTTPError) from the library's helpers
        response = getattr(holder, "response", None)
        if response is not None:  # (a 4xx Response is falsy)
            return response.status_code
    return {"ApiPermissionError": 403, "ApiNotFoundError": 404}.get(type(exc).__name__)


def _client(settings: dict, site: str):
    from knowledge.sources.items import resolve_secret

    try:
        from atlassian import Confluence
    except ImportError:
        raise ConfigurationError("Confluence sources need the atlassian-python-api package: "
                                 "pip install 'atlassian-python-api>=4,<6'.") from None
    if not settings.get("token"):
        raise ConfigurationError("A Confluence source needs token: env:VARIABLE or file:/path holding an API token.")
    secret = resolve_secret(settings["token"])
    # Retry-After is handled in Api.get: the library's own handling differs between versions (4.x sleeps as long
    # as asked and retries forever, 5.x retries once), so it is switched off.
    from knowledge.sources.deadlines import requests_session

    options = {"timeout": TIMEOUT, "retry_with_header": False, "backoff_and_retry": False,
               "session": requests_session()}  # and a limit for the whole answer, which requests lacks
    if str(settings.get("auth", "basic")).lower() == "bearer":
        return Confluence(site, token=secret, **options)
    if not settings.get("user"):
        raise ConfigurationError("A Confluence source needs user (the account's email) with its API token, or "
                                 "auth: bearer for a Data Center personal access token.")
    return Confluence(site, username=settings["user"], password=secret, **options)


# --- names and content -------------------------------------------------------------------------------------

def site_url(url: str | None) -> str:
    """The site's base URL; a Cloud site's REST API lives under /wiki."""
    parts = urllib.parse.urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError("A Confluence source needs url, the site's address (https://SITE.atlassian.net/wiki "
                                 "or your Data Center's base URL).")
    path = parts.path.rstrip("/")
    if parts.netloc.endswith(".atlassian.net") and not path.endswith("/wiki"):
        path += "/wiki"
    return f"{parts.scheme}://{parts.netloc}{path}"


def page_document(space: str, title: str) -> str:
    return f"confluence/{space}/{_safe(title) or 'Untitled'}.html"


def attachment_name(attachment: dict) -> str | None:
    """The attachment's file name if it is a PDF or DOCX (by media type or extension), else None."""
    title = _safe(attachment.get("title") or "")
    media_type = ((attachment.get("extensions") or {}).get("mediaType")
                  or (attachment.get("metadata") or {}).get("mediaType") or "").lower()
    suffix = PurePosixPath(title).suffix.lower()
    if suffix in ATTACHMENT_TYPES.values():
        return title
    if media_type in ATTACHMENT_TYPES and title:
        return title + ATTACHMENT_TYPES[media_type]
    return None


def page_labels(page: dict) -> set[str]:
    labels = ((page.get("metadata") or {}).get("labels") or {}).get("results") or []
    return {label.get("name", "") for label in labels}


def version_of(content: dict) -> str | None:
    number = (content.get("version") or {}).get("number")
    return str(number) if number is not None else None


def page_html(title: str, storage: str) -> bytes:
    """A page's storage format (XHTML with Confluence macros) as an HTML document with the title as its only h1."""
    return (f"<html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"{storage_to_html(storage)}</body></html>").encode()


def storage_to_html(storage: str) -> str:
    """Macros the HTML loader would not read made plain: code blocks to <pre>, tasks to list items; macro
    parameters dropped; headings moved one level down under the page title."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(storage, "html.parser")
    for tag in soup.find_all(["ac:parameter", "ac:task-id", "ac:task-uuid", "ac:task-status"]):
        tag.decompose()
    for macro in soup.find_all("ac:structured-macro"):
        if macro.get("ac:name") in ("code", "noformat"):
            pre = soup.new_tag("pre")
            pre.string = macro.get_text()
            macro.replace_with(pre)
    for task in soup.find_all("ac:task"):
        task.name = "li"
    for level in range(5, 0, -1):
        for heading in soup.find_all(f"h{level}"):
            heading.name = f"h{level + 1}"
    return str(soup)


def _safe(title: str) -> str:
    """A title as one path segment of a document name."""
    return " ".join(title.replace("/", "-").replace("\\", "-").split())
