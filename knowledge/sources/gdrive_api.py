"""Google Drive v3 over our own HTTP layer (transport.py), not google-api-python-client nor google-auth.

Why: google-api-python-client installs 111 MB and google-auth with what it brings (pyasn1, pyasn1-modules) about
6 MB more than is installed already (measured in a scratch venv, 2026-12-03), and the whole install is capped at
800 MB (issue 24) with 4 MB left. The one thing google-auth would do for us, signing the service account's JWT
with RS256, is a few lines with `cryptography`, installed already (pypdf[crypto]). Going through
transport.request also gives Drive the bounds of every other source: time limits per answer and per run, a size
limit, Retry-After obeyed, the token never sent to another origin.

The token is OAuth 2.0's JWT bearer grant (RFC 7523) as Google documents it for service accounts: a JWT signed
with the key's private_key, iss = the key's client_email, scope drive.readonly, sub = the user to act as when
domain-wide delegation is used, POSTed to the key's token_uri; kept in memory until shortly before it expires."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import urllib.parse

from knowledge.errors import ConfigurationError
from knowledge.sources.payload import json_object
from knowledge.sources.items import SourceError, resolve_secret
from knowledge.sources.transport import TOTAL_SECONDS, request, retry_after

log = logging.getLogger(__name__)

DRIVE_URL = "https://www.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/drive.readonly"
RUN_SECONDS = 1800.0          # one run's calls, waits included; what is left is taken up at the next run
JSON_BYTES = 32 * 1024 * 1024
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)  # Google's advice for 403 rateLimitExceeded: exponential backoff
RATE_LIMITED = {"rateLimitExceeded", "userRateLimitExceeded", "sharingRateLimitExceeded"}
_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


class InvalidCursor(SourceError):
    """changes.list refused the saved page token (400/404): the run starts over with a full listing."""


class DriveClient:
    """The calls a run makes, each bounded by transport and by the run's deadline; failures are SourceErrors that
    say what to fix."""

    def __init__(self, settings: dict, max_bytes: int, run_seconds: float = RUN_SECONDS):
        reference = settings.get("key")
        if not reference:
            raise ConfigurationError("A gdrive source needs key: the service account's JSON key, as file:/path/key.json "
                                     "or env:VARIABLE holding the JSON.")
        self.key = service_account_key(resolve_secret(str(reference)))
        self.subject = str(settings.get("subject") or "").strip() or None
        self.base = str(settings.get("drive_url") or DRIVE_URL).rstrip("/")
        self.token_url = str(settings.get("token_url") or self.key.get("token_uri") or TOKEN_URL)
        self.max_bytes = max_bytes
        self.deadline = time.monotonic() + run_seconds
        self.calls = 0

    # --- the token ------------------------------------------------------------------------------------------

    def token(self, fresh: bool = False) -> str:
        key = hashlib.sha256(f"{self.token_url}\0{self.key['private_key']}\0{self.subject}".encode()).hexdigest()
        with _tokens_lock:
            held = _tokens.get(key)
        if held and not fresh and held[1] > time.monotonic():
            return held[0]
        form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                       "assertion": self.assertion()}).encode()
        status, _, body = self._send(self.token_url, {"Content-Type": "application/x-www-form-urlencoded",
                                                      "Accept": "application/json"}, form, "POST", (400, 401, 403))
        answer = json_object(body, "Google's token endpoint")
        if status != 200 or not answer.get("access_token"):
            raise credentials_refused(self.key["client_email"], self.subject, answer.get("error"),
                                      answer.get("error_description"))
        expires = time.monotonic() + max(60.0, float(answer.get("expires_in") or 3600) - 300)
        with _tokens_lock:
            _tokens[key] = (answer["access_token"], expires)
        return answer["access_token"]

    def assertion(self, now: float | None = None) -> str:
        """The signed JWT (RS256) that asks for a token as the service account (as `subject` when delegated)."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(now or time.time())
        header = {"alg": "RS256", "typ": "JWT", **({"kid": self.key["private_key_id"]}
                                                   if self.key.get("private_key_id") else {})}
        claims = {"iss": self.key["client_email"], "scope": SCOPE, "aud": self.token_url, "iat": now,
                  "exp": now + 3600, **({"sub": self.subject} if self.subject else {})}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
        try:
            private = serialization.load_pem_private_key(self.key["private_key"].encode(), password=None)
            signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, TypeError):
            raise ConfigurationError("The gdrive source's key holds no usable private_key: download a new JSON key "
                                     "for the service account.") from None
        return f"{signing_input.decode()}.{_b64(signature)}"

    # --- calls ----------------------------------------------------------------------------------------------

    def get(self, path: str, what: str, params: dict | None = None, answered: tuple[int, ...] = ()) -> dict:
        status, body = self.call("GET", path, what, params=params, answered=answered)
        if status in answered:
            raise _StatusError(status, body)
        if status == 404:
            raise SourceError(f"Google Drive has no {what} (404), or the service account may not see it: share it "
                              "with the service account's address.")
        return json_object(body, f"Google Drive ({what})")

    def call(self, method: str, path: str, what: str, *, params: dict | None = None, data: bytes | None = None,
             limit: int = JSON_BYTES, answered: tuple[int, ...] = ()) -> tuple[int, bytes]:
        """One call; 401 once gets a new token, 403 rateLimitExceeded is backed off (within the run's deadline)."""
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {})}
        fresh, waits = False, iter(BACKOFF)
        while True:
            headers["Authorization"] = f"Bearer {self.token(fresh=fresh)}"
            status, response_headers, body = self._send(url, headers, data, method, (401, 403, *answered), limit)
            if status == 401 and not fresh:
                fresh = True  # a token revoked or expired early: one new token, then the refusal stands
                continue
            if status == 403 and _reason(body) in RATE_LIMITED:
                self._back_off(next(waits, None), response_headers, url)
                continue
            if status in (401, 403) and status not in answered:
                raise access_refused(status, what, _reason(body))
            return status, body

    def _back_off(self, wait: float | None, headers, url: str) -> None:
        told = retry_after(headers.get("Retry-After")) if headers.get("Retry-After") else None
        wait = told if told is not None else wait
        if wait is None or time.monotonic() + wait > self.deadline:
            raise SourceError("Google Drive kept answering rateLimitExceeded; what was applied stays, the rest is "
                              "taken up at the next run.")
        log.warning("%s: Google Drive's rate limit; waiting %.0f s", url.split("?", 1)[0], wait)
        time.sleep(wait)

    def _send(self, url: str, headers: dict, data: bytes | None, method: str, answered: tuple[int, ...],
              limit: int = JSON_BYTES):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SourceError(f"The run took longer than {RUN_SECONDS / 60:.0f} minutes (Google Drive kept it "
                              "waiting); what was applied stays, the rest is taken up at the next run.")
        self.calls += 1
        return request(url, headers, limit, data=data, method=method, total=min(TOTAL_SECONDS, left),
                       answered=answered)


class _StatusError(Exception):
    def __init__(self, status: int, body: bytes):
        super().__init__(status)
        self.status, self.body = status, body


def service_account_key(text: str) -> dict:
    try:
        key = json.loads(text)
    except ValueError:
        key = None
    if not isinstance(key, dict) or not key.get("client_email") or not key.get("private_key"):
        raise ConfigurationError("The gdrive source's key is not a service account's JSON key (it needs "
                                 "client_email and private_key): create one under IAM > Service accounts > Keys.")
    return key


# --- messages ---------------------------------------------------------------------------------------------------

def credentials_refused(email: str, subject: str | None, error: str | None, description: str | None) -> SourceError:
    """The token endpoint's refusal as what to do (nothing is retired: the run fails before listing)."""
    if error == "unauthorized_client":
        why = ("domain-wide delegation is not granted for this service account: in the Admin console, Security > "
               "API controls > Domain-wide delegation, add its client id with the drive.readonly scope, or drop "
               "subject" if subject else "the service account may not ask for drive.readonly")
    elif error == "invalid_grant" and subject and "subject" in (description or "").lower():
        why = f"the user {subject} (subject) is not in the domain"
    elif error == "invalid_grant":
        why = ("the key was deleted or disabled, or the service account was (Invalid JWT Signature): create a new "
               "key under IAM > Service accounts > Keys and point key at it")
    else:
        why = "check the key and subject"
    return SourceError(f"Google refused the service account {email}'s credentials ({error or 'refused'}): {why}. "
                       "Nothing was changed; the run is tried again later.")


def access_refused(status: int, what: str, reason: str | None) -> SourceError:
    if status == 401:
        return SourceError(f"Google Drive refused the service account's token for {what} (401 {reason or ''}). "
                           "Nothing was changed.")
    return SourceError(f"Google Drive refused access to {what} (403 {reason or 'forbidden'}): share the folder (or "
                       "add the service account to the shared drive) as a Viewer; the README's Sources section "
                       "says how. Nothing was changed.")


def _reason(body: bytes) -> str | None:
    try:
        error = json.loads(body or b"{}").get("error") or {}
        return (error.get("errors") or [{}])[0].get("reason") or error.get("status")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _q(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")
