"""HTTP for the sources (and Slack file downloads): one GET/POST with the server's rate limits honoured, time
limits for connecting and for the whole answer, a size limit, and credentials that stay with the origin they were
configured for, whatever a redirect says."""
from __future__ import annotations

import http.client
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from typing import Iterator

from knowledge.sources.items import SourceError

log = logging.getLogger(__name__)

USER_AGENT = "hrbot-source/1 (+https://github.com/; scheduled knowledge sync)"
MAX_RETRY_AFTER = 60.0  # seconds we wait when a server says 429/503 Retry-After; longer fails the run
RETRIES = 3


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


# --- requests ------------------------------------------------------------------------------------------------

CONNECT_SECONDS = 15.0   # to open the connection (and between any two reads: a server gone silent)
TOTAL_SECONDS = 300.0    # for one whole answer, however slowly it drips


def request(url: str, headers: dict, max_bytes: int, timeout: float = CONNECT_SECONDS, data: bytes | None = None,
            total: float = TOTAL_SECONDS, *, method: str | None = None, answered: tuple[int, ...] = ()):
    """GET (POST with data; `method` for PATCH and the like) with the server's rate limits honoured: 429/503 with
    Retry-After (up to MAX_RETRY_AFTER) is waited out and tried again. Returns (status, headers, body); 304/404/410
    are statuses, not errors, and so are the statuses in `answered`, returned with their body (an API's error
    code, for a message that says what to fix). Time limits: `timeout` to connect and for each read, `total` for
    the whole answer (a server that drips a byte every few seconds never trips a per-read limit)."""
    for attempt in range(RETRIES + 1):
        request = urllib.request.Request(url, data=data, headers={"User-Agent": USER_AGENT, **headers},
                                         method=method)
        try:
            with _failures(url, timeout), OPENER.open(request, timeout=timeout) as response:
                body = read_within(response, url, max_bytes, time.monotonic() + total, total)
                return response.status, response.headers, body
        except urllib.error.HTTPError as exc:
            if exc.code in answered:
                with _failures(url, timeout):
                    body = read_within(exc, url, max_bytes, time.monotonic() + total, total)
                return exc.code, exc.headers, body
            if exc.code in (304, 404, 410):
                return exc.code, exc.headers, b""
            _refused(url, exc, attempt)
    raise SourceError(f"{url} kept answering 429/503 after {RETRIES} waits.")


@contextmanager
def streamed(url: str, headers: dict, max_bytes: int, timeout: float = CONNECT_SECONDS, data: bytes | None = None,
             total: float = TOTAL_SECONDS):
    """request() for answers too large to hold (an HR system's 100,000 employees): yields (status, headers,
    chunks), chunks an iterator of the body's bytes as they arrive. Rate limits are waited out before the body
    starts; `total` bounds the time spent waiting for the server (not the time the caller spends on each chunk,
    which may write it to a database), so a server that drips its answer still fails the run."""
    for attempt in range(RETRIES + 1):
        request = urllib.request.Request(url, data=data, headers={"User-Agent": USER_AGENT, **headers})
        try:
            with _failures(url, timeout), OPENER.open(request, timeout=timeout) as response:
                yield response.status, response.headers, _chunks(response, url, max_bytes, timeout, total)
                return
        except urllib.error.HTTPError as exc:
            if exc.code in (304, 404, 410):
                yield exc.code, exc.headers, iter(())
                return
            _refused(url, exc, attempt)


def _chunks(response, url: str, max_bytes: int, timeout: float, total: float) -> Iterator[bytes]:
    waited, size = 0.0, 0
    while True:
        started = time.monotonic()
        with _failures(url, timeout):
            chunk = response.read1(64 * 1024)
        waited += time.monotonic() - started
        if waited > total:
            raise SourceError(f"{url} sent its answer too slowly: not complete after {total:.0f} s of waiting (a "
                              "server that drips its answer); tried again at the next run.")
        if not chunk:
            return
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(f"{url} is larger than {max_bytes // (1024 * 1024)} MB; not read further.")
        yield chunk


def _refused(url: str, exc: urllib.error.HTTPError, attempt: int) -> None:
    """Wait out a 429/503 that says how long (returns: try again), or raise what the status means."""
    if exc.code in (429, 503) and attempt < RETRIES:
        wait = retry_after(exc.headers.get("Retry-After"))
        if wait is not None and wait <= MAX_RETRY_AFTER:
            log.warning("%s answered %d; waiting %.0f s as it asked", url, exc.code, wait)
            time.sleep(wait)
            return
    if exc.code in (429, 503) and attempt >= RETRIES:
        raise SourceError(f"{url} kept answering 429/503 after {RETRIES} waits.") from None
    if exc.code in (401, 403):
        raise SourceError(f"{url} refused access ({exc.code}): check the source's credentials and that "
                          "its account may read this page.") from None
    raise SourceError(f"{url} answered HTTP {exc.code}.") from None


@contextmanager
def _failures(url: str, timeout: float):
    """Network failures as SourceErrors that say what happened (HTTPError passes: its status decides)."""
    try:
        yield
    except urllib.error.HTTPError:
        raise
    except urllib.error.URLError as exc:
        raise SourceError(f"{url} cannot be reached ({getattr(exc, 'reason', exc)}).") from None
    except TimeoutError:
        raise SourceError(f"{url} did not answer within {timeout:.0f} s.") from None
    except (http.client.HTTPException, ConnectionError) as exc:  # cut off mid-answer, a malformed answer
        raise SourceError(f"{url} broke off its answer ({type(exc).__name__}); tried again at the next run.") \
            from None


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


def without_userinfo(url: str) -> str:
    """The address with any user:password@ cut out, for messages admins see (and alerts in Slack)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
