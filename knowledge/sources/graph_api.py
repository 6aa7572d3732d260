"""Microsoft Graph over our own HTTP layer (transport.py), not msgraph-sdk.

Why not the SDK: msgraph-sdk installs 392 MB (measured in a scratch venv, 2026-12-03) and the whole install is
capped at 800 MB (issue 24); and going through transport.request gives Graph the same bounds as every other
source: connect/read/total time limits, a size limit per answer, Retry-After obeyed (429/503), credentials that
never follow a redirect to another origin (a file's /content answers 302 to a pre-authenticated download URL on
SharePoint's own host: it gets no bearer token). What we use of Graph is a handful of documented REST calls.

The app-only token is OAuth 2.0's client-credentials grant (POST {authority}/{tenant}/oauth2/v2.0/token with
scope https://graph.microsoft.com/.default), kept in memory until shortly before it expires."""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import urllib.parse

from knowledge.errors import ConfigurationError
from knowledge.sources.payload import json_object
from knowledge.sources.items import SourceError, resolve_secret
from knowledge.sources.transport import TOTAL_SECONDS, request

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY = "https://login.microsoftonline.com"
RUN_SECONDS = 1800.0      # waiting on Graph in one run (Retry-After included); ingesting what arrived is not counted
JSON_BYTES = 32 * 1024 * 1024  # one page of a listing, one token answer
_tokens: dict[str, tuple[str, float]] = {}  # credentials' digest -> (access token, expires at, monotonic)
_tokens_lock = threading.Lock()


class Gone(SourceError):
    """410 from a delta query: the cursor expired (resyncRequired); the run starts over with a full listing."""


class NotFound(SourceError):
    """404: the site, drive, folder or item is not there, or the app may not see it."""


class GraphClient:
    """The calls a run makes, each bounded by transport and by the run's deadline, each failure a SourceError
    that says what to fix."""

    def __init__(self, settings: dict, max_bytes: int, run_seconds: float = RUN_SECONDS):
        self.base = str(settings.get("graph_url") or GRAPH_URL).rstrip("/")
        self.authority = str(settings.get("authority") or AUTHORITY).rstrip("/")
        self.tenant = str(settings.get("tenant") or "").strip()
        self.client_id = str(settings.get("client_id") or "").strip()
        if not self.tenant or not self.client_id or not settings.get("client_secret"):
            raise ConfigurationError("A Microsoft Graph source needs tenant (the directory id), client_id (the app's "
                                     "id) and client_secret (env:VARIABLE or file:/path holding the secret's value).")
        self._secret = resolve_secret(settings["client_secret"])
        self.max_bytes = max_bytes
        self.run_seconds, self.waited = run_seconds, 0.0
        self.calls = 0
        self.bytes = 0

    # --- the token ------------------------------------------------------------------------------------------

    def _key(self) -> str:
        return hashlib.sha256(f"{self.authority}\0{self.tenant}\0{self.client_id}\0{self._secret}".encode()).hexdigest()

    def token(self, fresh: bool = False) -> str:
        key = self._key()
        with _tokens_lock:
            held = _tokens.get(key)
        if held and not fresh and held[1] > time.monotonic():
            return held[0]
        url = f"{self.authority}/{urllib.parse.quote(self.tenant)}/oauth2/v2.0/token"
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": self.client_id,
                                       "client_secret": self._secret,
                                       "scope": _origin(self.base) + "/.default"}).encode()
        status, _, body = self._send(url, {"Content-Type": "application/x-www-form-urlencoded",
                                           "Accept": "application/json"}, form, "POST", (400, 401))
        answer = json_object(body, "Microsoft Entra ID's token endpoint")
        if status != 200 or not answer.get("access_token"):
            raise credentials_refused(self.tenant, answer.get("error"), answer.get("error_description"))
        expires = time.monotonic() + max(60.0, float(answer.get("expires_in") or 3600) - 300)
        with _tokens_lock:
            _tokens[key] = (answer["access_token"], expires)
        return answer["access_token"]

    # --- calls ----------------------------------------------------------------------------------------------

    def get(self, path_or_url: str, what: str, params: dict | None = None) -> dict:
        status, body = self.call("GET", path_or_url, what, params=params)
        if status == 404:
            raise NotFound(f"Microsoft Graph has no {what} (404), or the app may not see it.")
        if status == 410:
            raise Gone(f"Microsoft Graph says the saved position for {what} has expired (410).")
        return json_object(body, f"Microsoft Graph ({what})")

    def pages(self, path: str, what: str, params: dict | None = None):
        """Every page of a collection, following @odata.nextLink (an absolute URL under the Graph base)."""
        answer = self.get(path, what, params)
        while True:
            yield answer
            link = answer.get("@odata.nextLink")
            if not link:
                return
            answer = self.get(link, what)

    def content(self, drive: str, item: str, what: str) -> bytes | None:
        """A file's bytes (Graph answers 302 to a pre-authenticated URL: transport follows it without our token);
        None when it is gone (404)."""
        status, body = self.call("GET", f"/drives/{_q(drive)}/items/{_q(item)}/content", what, limit=self.max_bytes)
        return None if status in (404, 410) else body

    def send_json(self, method: str, path: str, payload: dict, what: str) -> tuple[int, dict]:
        """POST/PATCH a JSON body; (status, answer). 4xx answers are returned for the caller to judge."""
        status, body = self.call(method, path, what, data=json.dumps(payload).encode(),
                                 answered=(400, 403, 404, 409))
        return status, (json_object(body, f"Microsoft Graph ({what})") if body else {})

    def call(self, method: str, path_or_url: str, what: str, *, params: dict | None = None, data: bytes | None = None,
             limit: int = JSON_BYTES, answered: tuple[int, ...] = ()) -> tuple[int, bytes]:
        url = self.url(path_or_url, params)
        headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {})}
        for attempt in (0, 1):
            headers["Authorization"] = f"Bearer {self.token(fresh=attempt == 1)}"
            status, _, body = self._send(url, headers, data, method, (401, 403, *answered), limit)
            if status == 401 and attempt == 0:
                continue  # a token revoked or expired early: one new token, then the refusal stands
            if status in (401, 403):
                raise access_refused(status, what, _error_code(body))
            return status, body
        raise AssertionError("unreachable")

    def _send(self, url: str, headers: dict, data: bytes | None, method: str, answered: tuple[int, ...],
              limit: int = JSON_BYTES):
        left = self.run_seconds - self.waited
        if left <= 0:
            raise SourceError(f"Microsoft Graph kept this run waiting for over {self.run_seconds / 60:.0f} minutes "
                              "(throttled or slow); what was applied stays, the rest is taken up at the next run.")
        self.calls += 1
        started = time.monotonic()
        try:
            status, response_headers, body = request(url, headers, limit, data=data, method=method,
                                                     total=min(TOTAL_SECONDS, left), answered=answered)
        finally:
            self.waited += time.monotonic() - started
        self.bytes += len(body)
        return status, response_headers, body

    def url(self, path_or_url: str, params: dict | None = None) -> str:
        """A path under the Graph base, or a link Graph gave (@odata.nextLink/deltaLink), which must stay under it:
        the bearer token is never sent anywhere else."""
        if path_or_url.startswith(("http://", "https://")):
            if not path_or_url.startswith(self.base + "/"):
                raise SourceError(f"Microsoft Graph pointed outside {self.base}; not followed.")
            url = path_or_url
        else:
            url = self.base + path_or_url
        return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params) if params else url


# --- messages ---------------------------------------------------------------------------------------------------

def credentials_refused(tenant: str, error: str | None, description: str | None) -> SourceError:
    """The token endpoint's refusal, as what to do about it (nothing is retired: the run fails before listing)."""
    code = (description or "").split(":", 1)[0]
    if error == "invalid_client" or code in ("AADSTS7000215", "AADSTS7000222"):
        why = ("the client secret is wrong or has expired: make a new one under App registrations > the app > "
               "Certificates & secrets, and give its *Value* (not its ID)")
    elif code == "AADSTS700016" or error == "unauthorized_client":
        why = "no app with this client_id exists in the tenant (or it was deleted): check client_id and tenant"
    elif code in ("AADSTS90002", "AADSTS900023") or error == "invalid_request":
        why = "the tenant is not found: give the directory (tenant) id from the app's Overview page"
    else:
        why = "check tenant, client_id and client_secret"
    return SourceError(f"Microsoft Entra ID refused the app's credentials for tenant {tenant} "
                       f"({error or 'refused'}): {why}. Nothing was changed; the run is tried again later.")


def access_refused(status: int, what: str, code: str | None) -> SourceError:
    if status == 401:
        return SourceError(f"Microsoft Graph refused the app's token for {what} (401 {code or ''}): the app's "
                           "consent may have been revoked; an admin grants it again under Enterprise applications "
                           "> the app > Permissions. Nothing was changed.")
    return SourceError(f"Microsoft Graph refused access to {what} (403 {code or 'accessDenied'}): the app needs "
                       "read access to it (Sites.Selected with a read grant on the site, or Files.Read.All for a "
                       "OneDrive; the README's Sources section says how). Nothing was changed.")


def _error_code(body: bytes) -> str | None:
    try:
        return (json.loads(body or b"{}").get("error") or {}).get("code")
    except (ValueError, AttributeError):
        return None


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _q(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")
