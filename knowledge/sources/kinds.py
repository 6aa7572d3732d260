"""What each kind of source lists and fetches. A kind returns a Listing: the items present at the source now
(so items missing from it were deleted there) and, for each, its content when it changed since the last run."""
from __future__ import annotations

import hashlib
import http.client
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from knowledge.errors import ConfigurationError, HRBotError

log = logging.getLogger(__name__)

USER_AGENT = "hrbot-source/1 (+https://github.com/; scheduled knowledge sync)"
MAX_RETRY_AFTER = 60.0  # seconds we wait when a server says 429/503 Retry-After; longer fails the run
RETRIES = 3
TYPE_SUFFIX = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
               "text/markdown": ".md", "text/plain": ".txt",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}


class SourceError(HRBotError):
    """A run cannot go on (unreachable, refused, malformed listing): nothing is removed, the run is retried."""


@dataclass
class Item:
    key: str                 # stable identity at the source (a path, a URL)
    document: str            # the document's name in the knowledge base
    fetch: Callable[["Seen | None"], "Fetched"]
    url: str | None = None


@dataclass
class Seen:
    """What the last run recorded of an item."""
    etag: str | None
    last_modified: str | None
    sha256: str | None


@dataclass
class Fetched:
    data: bytes | None = None     # None: unchanged since `Seen`
    name: str | None = None       # file name with the right extension, for the loader
    etag: str | None = None
    last_modified: str | None = None
    gone: bool = False            # deleted at the source (404/410)

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None


@dataclass
class Listing:
    items: list[Item] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # items left out on purpose, each "NAME is too large (...)"


# --- folder -------------------------------------------------------------------------------------------------

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


# --- credentials stay with their origin -----------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}
KEPT_ACROSS_ORIGINS = {"user-agent", "accept", "accept-language"}  # any other header may carry a credential
NOT_IN_AN_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f|<>]")  # never unencoded in a URL (RFC 3986); they end Slack links


def origin(url: str | None) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) address, the port filled in; None for anything else (javascript:,
    ftp:, no host, a malformed port, characters no URL holds unencoded). Credentials go to one origin only."""
    if not isinstance(url, str) or NOT_IN_AN_ADDRESS.search(url):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if "@" in parts.netloc:  # user:password@host: a credential in content, and the "trusted@evil" trick
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


class CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects and copies the request's headers to the new address, so a server that answers
    `302 Location: https://elsewhere/` would hand elsewhere the source's Authorization header. Here a redirect
    to another origin (scheme, host or port) keeps only harmless headers, so credentials are gone for the rest of
    the chain (a redirect back included); a redirect to anything but http(s) is refused."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if origin(newurl) is None:
            raise SourceError(f"{req.full_url} redirected to an address that is not http(s); not followed.")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(new.full_url) != origin(req.full_url):
            for name in [n for n in new.headers if n.lower() not in KEPT_ACROSS_ORIGINS]:
                del new.headers[name]
            new.unredirected_hdrs.clear()  # urllib does not copy these; cleared so no future version does
        return new


OPENER = urllib.request.build_opener(CredentialsStayHome)  # urlopen's handlers, with this redirect handler


# --- web pages ----------------------------------------------------------------------------------------------

CONNECT_SECONDS = 15.0   # to open the connection (and between any two reads: a server gone silent)
TOTAL_SECONDS = 300.0    # for one whole answer, however slowly it drips


def request(url: str, headers: dict, max_bytes: int, timeout: float = CONNECT_SECONDS, data: bytes | None = None,
            total: float = TOTAL_SECONDS):
    """GET (POST with data) with the server's rate limits honoured: 429/503 with Retry-After (up to
    MAX_RETRY_AFTER) is waited out and tried again. Returns (status, headers, body); 304/404/410 are statuses,
    not errors. Time limits: `timeout` to connect and for each read, `total` for the whole answer (a server that
    drips a byte every few seconds never trips a per-read limit)."""
    for attempt in range(RETRIES + 1):
        request = urllib.request.Request(url, data=data, headers={"User-Agent": USER_AGENT, **headers})
        try:
            with OPENER.open(request, timeout=timeout) as response:
                body = read_within(response, url, max_bytes, time.monotonic() + total, total)
                return response.status, response.headers, body
        except urllib.error.HTTPError as exc:
            if exc.code in (304, 404, 410):
                return exc.code, exc.headers, b""
            if exc.code in (429, 503) and attempt < RETRIES:
                wait = retry_after(exc.headers.get("Retry-After"))
                if wait is not None and wait <= MAX_RETRY_AFTER:
                    log.warning("%s answered %d; waiting %.0f s as it asked", url, exc.code, wait)
                    time.sleep(wait)
                    continue
            if exc.code in (401, 403):
                raise SourceError(f"{url} refused access ({exc.code}): check the source's credentials and that "
                                  "its account may read this page.") from None
            raise SourceError(f"{url} answered HTTP {exc.code}.") from None
        except urllib.error.URLError as exc:
            raise SourceError(f"{url} cannot be reached ({getattr(exc, 'reason', exc)}).") from None
        except TimeoutError:
            raise SourceError(f"{url} did not answer within {timeout:.0f} s.") from None
        except (http.client.HTTPException, ConnectionError) as exc:  # cut off mid-answer, a malformed answer
            raise SourceError(f"{url} broke off its answer ({type(exc).__name__}); tried again at the next run.") \
                from None
    raise SourceError(f"{url} kept answering 429/503 after {RETRIES} waits.")


def read_within(response, url: str, max_bytes: int, deadline: float, total: float) -> bytes:
    """The body, read as it arrives (read1: what one recv gives), at most max_bytes, by the deadline."""
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise SourceError(f"{url} sent its answer too slowly: not complete after {total:.0f} s (a server "
                              "that drips its answer); tried again at the next run.")
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(f"{url} is larger than {max_bytes // (1024 * 1024)} MB "
                              "(HRBOT_MAX_UPLOAD_MB); split it or raise the limit.")
        chunks.append(chunk)


def retry_after(value: str | None) -> float | None:
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _auth_headers(settings: dict) -> dict:
    from knowledge.sources.store import resolve_secret

    header = settings.get("auth_header")  # e.g. "env:INTRANET_AUTH" holding "Bearer ..."
    return {"Authorization": resolve_secret(header)} if header else {}


def document_name(url: str, content_type: str | None) -> str:
    """host/path, with the file extension the loader needs (from the URL or the content type)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/") or "/index"
    name = f"{parts.netloc}{path}"
    if parts.query:
        name += "_" + hashlib.sha256(parts.query.encode()).hexdigest()[:8]
    suffix = TYPE_SUFFIX.get((content_type or "").split(";")[0].strip().lower())
    if PurePosixPath(path).suffix.lower() not in (".html", ".htm", ".pdf", ".md", ".txt", ".docx"):
        name += suffix or ".html"
    return name


def sitemap_urls(url: str, headers: dict, max_bytes: int, home: set, skipped: list[str], depth: int = 0) -> list[str]:
    """The page URLs of a sitemap (and of the sitemaps a sitemap index lists, one level down). A <loc> is
    content, not configuration: one on another origin than the source's (home) or not an http(s) address is
    left out, its reason added to skipped (shown by `hrbot sources list`), and never fetched, so the source's
    credentials and the knowledge base's trust stay with the site the admin configured."""
    status, _, body = request(url, headers, max_bytes)
    if status != 200:
        raise SourceError(f"The sitemap {url} answered HTTP {status}.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SourceError(f"The sitemap {url} is not valid XML ({exc}).") from None
    tag = root.tag.rsplit("}", 1)[-1]
    locs = [el.text.strip() for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "loc" and el.text]
    if tag == "sitemapindex" and depth >= 1:
        raise SourceError(f"The sitemap {url} nests indexes more than one level deep.")
    kept = []
    for loc in locs:
        reason = loc_refusal(loc, home)
        if reason:
            log.warning("sitemap %s: skipped %s", url, reason)
            skipped.append(reason)
        else:
            kept.append(loc)
    if tag == "sitemapindex":
        return [page for sub in kept for page in sitemap_urls(sub, headers, max_bytes, home, skipped, depth + 1)]
    return kept


def without_userinfo(url: str) -> str:
    """The address with any user:password@ cut out, for messages admins see (and alerts in Slack)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def loc_refusal(loc: str, home: set) -> str | None:
    """Why a sitemap's <loc> is not fetched, or None when it may be."""
    there = origin(loc)
    shown = repr(without_userinfo(loc)[:100])  # quoted, control characters escaped: it is echoed to admins
    if there is None:
        if isinstance(loc, str) and "@" in urllib.parse.urlsplit(loc).netloc:
            return f"{shown} carries a user name or password; such addresses are never fetched"
        return f"{shown} is not an http(s) address"
    if there not in home:
        return f"{shown} is on another origin than the source's configured site"
    return None


def web_listing(settings: dict, max_bytes: int) -> Listing:
    """Pages from settings['urls'] and/or settings['sitemap'], fetched with conditional GET (ETag,
    Last-Modified): an unchanged page costs a 304, a page that is gone (404/410) is retired.

    The configured addresses define the source's origins (scheme, host, port): its credentials (auth_header)
    are sent there only. Sitemap entries elsewhere are skipped with a reason, and a redirect elsewhere is
    followed without them (CredentialsStayHome)."""
    headers = _auth_headers(settings)
    urls = list(settings.get("urls") or [])
    configured = urls + ([settings["sitemap"]] if settings.get("sitemap") else [])
    for url in configured:
        if origin(url) is None:
            raise SourceError(f"{url} is not an http(s) address.")
    home = {origin(url) for url in configured}
    listing = Listing()
    if settings.get("sitemap"):
        urls += sitemap_urls(settings["sitemap"], headers, max_bytes, home, listing.skipped)
    if not configured:
        raise ConfigurationError("A web source needs urls or a sitemap.")
    if not urls:  # retiring every page over an empty or wholly refused sitemap would be wrong
        raise SourceError("The sitemap lists no page this source may fetch, so nothing was changed"
                          + (f" (skipped: {'; '.join(listing.skipped[:3])})." if listing.skipped else "."))
    for url in dict.fromkeys(urls):
        def fetch(seen: Seen | None, url=url) -> Fetched:
            conditional = {}
            if seen and seen.etag:
                conditional["If-None-Match"] = seen.etag
            if seen and seen.last_modified:
                conditional["If-Modified-Since"] = seen.last_modified
            status, response_headers, body = request(url, {**headers, **conditional}, max_bytes)
            if status in (404, 410):
                return Fetched(gone=True)
            etag, modified = response_headers.get("ETag"), response_headers.get("Last-Modified")
            if status == 304:
                return Fetched(None, etag=etag or (seen.etag if seen else None),
                               last_modified=modified or (seen.last_modified if seen else None))
            name = document_name(url, response_headers.get("Content-Type"))
            if seen and seen.sha256 == hashlib.sha256(body).hexdigest():
                return Fetched(None, PurePosixPath(name).name, etag, modified)  # no validators, same bytes
            return Fetched(body, PurePosixPath(name).name, etag, modified)

        listing.items.append(Item(url, document_name(url, None), fetch, url=url))
    return listing


# --- settings helpers the kinds share -------------------------------------------------------------------------

def as_list(value) -> list[str]:
    """A list setting given as a list or, from the command line, as comma-separated text."""
    if not value:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def as_bool(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1", "on")


# --- the registry: the API kinds import their client library only when such a source runs ---------------------

def confluence(settings: dict, max_bytes: int) -> Listing:
    from knowledge.sources.confluence import confluence_listing

    return confluence_listing(settings, max_bytes)


def notion(settings: dict, max_bytes: int) -> Listing:
    from knowledge.sources.notion import notion_listing

    return notion_listing(settings, max_bytes)


KINDS = {"folder": folder_listing, "web": web_listing, "confluence": confluence, "notion": notion}
