"""The web kind: pages from a list of addresses and/or a sitemap, fetched with conditional GET. The configured
addresses define the source's origins; its credentials go nowhere else."""
from __future__ import annotations

import hashlib
import logging
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

from knowledge.errors import ConfigurationError
from knowledge.sources.items import Fetched, Item, Listing, Seen, SourceError
from knowledge.sources import transport
from knowledge.sources.transport import origin, without_userinfo

log = logging.getLogger(__name__)

TYPE_SUFFIX = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
               "text/markdown": ".md", "text/plain": ".txt",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}



def _auth_headers(settings: dict) -> dict:
    from knowledge.sources.items import resolve_secret

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
    status, _, body = transport.request(url, headers, max_bytes)
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
            status, response_headers, body = transport.request(url, {**headers, **conditional}, max_bytes)
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
