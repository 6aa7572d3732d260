"""A local Google Drive v3 and Google OAuth token endpoint, answering as Google documents them: the JWT bearer grant
(POST /token with an RS256 assertion, checked against the service account's public key; 400 invalid_grant
"Invalid JWT Signature." once the key is deleted, 401 unauthorized_client for a subject without domain-wide
delegation), files.list with `'<id>' in parents and trashed = false` or a shared drive's corpora, pageToken paging
(`page_size` files a page), files.get (metadata, alt=media), files.export of Google Docs (DOCX or HTML),
changes.getStartPageToken and changes.list (each changed file once, in its latest state; trashed files with
trashed: true, deleted or no longer shared ones as removed: true; nextPageToken, then newStartPageToken; 400
Invalid Value for a page token older than `expire_before`), changes.watch channels (a "sync" message at once,
then a "change" message on each change, with the channel's id and token) and channels.stop. Knobs: `throttle`
(the next N calls answer 429 Retry-After: 1), `rate_limited` (the next N answer 403 rateLimitExceeded, no
Retry-After), `broken` (ids whose download answers 500), `revoke()`, `unshare(entry)`."""
from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import re
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from tests.fakes.http import Call, FakeService

FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class Entry:
    id: str
    name: str
    mime: str
    parent: str | None
    content: bytes = b""
    version: int = 1
    seq: int = 0
    trashed: bool = False
    removed: bool = False   # deleted for good, or no longer shared with the service account
    drive: str | None = None


class FakeDrive(FakeService):
    def __init__(self, page_size: int = 3):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.page_size = page_size
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self._private.public_key()
        self.pem = self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()).decode()
        self.email = "hrbot-reader@hr-project.iam.gserviceaccount.com"
        self.delegated: set[str] = set()   # users the service account may act as (domain-wide delegation)
        self.entries: dict[str, Entry] = {}
        self.tokens: set[str] = set()
        self.channels: dict[str, dict] = {}
        self.seq = 0
        self.expire_before = 0
        self.throttle = 0
        self.rate_limited = 0
        self.notified: list[tuple[str, int]] = []   # (resource state, status the address answered)
        self.revoked = False
        self.broken: set[str] = set()   # ids whose download answers 500
        self._ids = itertools.count(1)
        super().__init__()

    def key_json(self) -> str:
        """The service account's JSON key as the console downloads it (token_uri pointing here)."""
        return json.dumps({"type": "service_account", "project_id": "hr-project", "private_key_id": "k1",
                           "private_key": self.pem, "client_email": self.email, "client_id": "1234567890",
                           "token_uri": f"{self.base_url}/token"})

    # --- filling it -------------------------------------------------------------------------------------------

    def folder(self, name: str, parent: str | None = None) -> Entry:
        return self._add(name, FOLDER, parent)

    def shared_drive(self) -> str:
        drive = self._new_id()
        self.entries[drive] = Entry(drive, "HR shared drive", FOLDER, None, drive=drive)
        return drive

    def put(self, parent: str, name: str, content: bytes | str, mime: str = "application/octet-stream") -> Entry:
        data = content.encode() if isinstance(content, str) else content
        entry = next((e for e in self.entries.values() if e.parent == parent and e.name == name and not e.trashed
                      and not e.removed), None)
        if entry is None:
            return self._add(name, mime, parent, data)
        entry.content, entry.version = data, entry.version + 1
        self._changed(entry)
        return entry

    def rename(self, entry: Entry, name: str) -> None:
        entry.name, entry.version = name, entry.version + 1
        self._changed(entry)

    def move(self, entry: Entry, parent: str) -> None:
        entry.parent, entry.version = parent, entry.version + 1
        self._changed(entry)

    def trash(self, entry: Entry) -> None:
        """Trashed, and what is in it with it (implicitly: only the folder is reported as a change)."""
        for other in self.entries.values():
            if self._within(other, entry.id):
                other.trashed = True
        entry.trashed = True
        self._changed(entry)

    def _within(self, entry: Entry, folder: str) -> bool:
        for _ in range(100):
            if entry.parent is None or entry.parent not in self.entries:
                return False
            if entry.parent == folder:
                return True
            entry = self.entries[entry.parent]
        return False

    def unshare(self, entry: Entry) -> None:
        """Access lost (or deleted for good): changes report it as removed, and it is 404 from now on."""
        entry.removed = True
        self._changed(entry)

    def revoke(self) -> None:
        """The service account's key deleted: no new token, and the tokens handed out stop working."""
        self.revoked, self.tokens = True, set()

    def _new_id(self) -> str:
        return f"1Drv{next(self._ids):08d}AbCdEfGh"

    def _add(self, name: str, mime: str, parent: str | None, content: bytes = b"") -> Entry:
        drive = self.entries[parent].drive if parent in self.entries else None
        entry = Entry(self._new_id(), name, mime, parent, content, drive=drive)
        self.entries[entry.id] = entry
        self._changed(entry)
        return entry

    def _changed(self, entry: Entry) -> None:
        self.seq += 1
        entry.seq = self.seq
        for channel in list(self.channels.values()):
            threading.Thread(target=self._notify, args=(channel, "change"), daemon=True).start()

    def _notify(self, channel: dict, state: str) -> None:
        channel["messages"] += 1
        headers = {"X-Goog-Channel-ID": channel["id"], "X-Goog-Channel-Token": channel.get("token", ""),
                   "X-Goog-Channel-Expiration": "Thu, 10 Dec 2026 17:00:00 GMT", "X-Goog-Resource-State": state,
                   "X-Goog-Resource-ID": channel["resourceId"], "X-Goog-Message-Number": str(channel["messages"]),
                   "X-Goog-Resource-URI": "https://www.googleapis.com/drive/v3/changes?alt=json"}
        self.notified.append((state, post(channel["address"], b"", headers)))

    # --- answering ----------------------------------------------------------------------------------------------

    def answer(self, call: Call):
        if call.path == "/token":
            return self._token(call)
        if (call.headers.get("Authorization") or "")[7:] not in self.tokens:
            return _error(401, "authError", "Invalid Credentials")
        if self.throttle:
            self.throttle -= 1
            return 429, {"error": {"code": 429, "message": "Rate Limit Exceeded"}}, {"Retry-After": "1"}
        if self.rate_limited:
            self.rate_limited -= 1
            return _error(403, "userRateLimitExceeded", "User Rate Limit Exceeded")
        path = call.path
        if path == "/drive/v3/files" and call.method == "GET":
            return self._list(call)
        if path == "/drive/v3/changes/startPageToken":
            return 200, {"kind": "drive#startPageToken", "startPageToken": str(self.seq + 1)}, None
        if path == "/drive/v3/changes":
            return self._changes(call)
        if path == "/drive/v3/changes/watch" and call.method == "POST":
            return self._watch(call)
        if path == "/drive/v3/channels/stop" and call.method == "POST":
            self.channels.pop((call.body or {}).get("id"), None)
            return 204, b"", None
        found = re.fullmatch(r"/drive/v3/files/([^/]+)(/export)?", path)
        if found and call.method == "GET":
            entry = self.entries.get(found.group(1))
            if entry is None or entry.removed:
                return _error(404, "notFound", f"File not found: {found.group(1)}.")
            if found.group(2):
                return self._export(entry, call.query.get("mimeType"))
            if call.query.get("alt") == "media":
                if entry.mime.startswith("application/vnd.google-apps."):
                    return _error(403, "fileNotDownloadable", "Only files with binary content can be downloaded.")
                return (500, b"", None) if entry.id in self.broken else (200, entry.content, None)
            return 200, self._json(entry), None
        return _error(404, "notFound", "Not found")

    def _token(self, call: Call):
        form = call.body or {}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, None
        claims = self._verified(form.get("assertion") or "")
        if claims is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, None
        if claims.get("aud") != f"{self.base_url}/token" or "drive.readonly" not in claims.get("scope", ""):
            return 400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope or ID token audience"}, \
                None
        if claims.get("sub") and claims["sub"] not in self.delegated:
            return 401, {"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve "
                         "access tokens using this method, or client not authorized for any of the scopes "
                         "requested."}, None
        token = "ya29." + secrets.token_hex(16)
        self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}, None

    def _verified(self, assertion: str) -> dict | None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        if self.revoked or assertion.count(".") != 2:
            return None
        head, body, signature = assertion.split(".")
        try:
            self.public_key.verify(_unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
            header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
        except (InvalidSignature, ValueError):
            return None
        return claims if header.get("alg") == "RS256" and claims.get("iss") == self.email else None

    def _list(self, call: Call):
        query = call.query.get("q", "")
        parent = re.search(r"'([^']+)' in parents", query)
        if parent:
            found = [e for e in self.entries.values() if e.parent == parent.group(1)]
        elif call.query.get("corpora") == "drive":
            drive = call.query.get("driveId")
            found = [e for e in self.entries.values() if e.drive == drive and e.id != drive]
        else:
            return _error(400, "invalid", "Invalid Value")
        if call.query.get("corpora") == "drive" or parent and self.entries.get(parent.group(1), Entry("", "", "", None)).drive:
            if call.query.get("supportsAllDrives") != "true":
                return _error(404, "notFound", "Shared drive not found")
        visible = [e for e in found if not e.removed and not ("trashed = false" in query and e.trashed)]
        return self._page(call, sorted(visible, key=lambda e: e.seq), "files", self._json)

    def _page(self, call: Call, items: list, key: str, shape):
        skip = int(call.query.get("pageToken", "0") or 0) if key == "files" else 0
        page = items[skip:skip + self.page_size]
        answer = {key: [shape(e) for e in page]}
        if skip + self.page_size < len(items):
            answer["nextPageToken"] = str(skip + self.page_size)
        return 200, answer, None

    def _changes(self, call: Call):
        token = call.query.get("pageToken", "")
        since, _, rest = token.partition("~")
        if not since.isdigit() or int(since) < self.expire_before or int(since) > self.seq + 1:
            return 400, {"error": {"errors": [{"domain": "global", "reason": "invalid", "message": "Invalid Value",
                                               "locationType": "parameter", "location": "pageToken"}],
                                   "code": 400, "message": "Invalid Value"}}, None
        at, skip = (int(x) for x in rest.split("~")) if rest else (self.seq, 0)
        drive = call.query.get("driveId")
        changed = sorted((e for e in self.entries.values() if int(since) <= e.seq <= at
                          and (drive is None or e.drive == drive)), key=lambda e: e.seq)
        page = changed[skip:skip + self.page_size]
        answer = {"kind": "drive#changeList", "changes": [self._change(e) for e in page]}
        if skip + self.page_size < len(changed):
            answer["nextPageToken"] = f"{since}~{at}~{skip + self.page_size}"
        else:
            answer["newStartPageToken"] = str(at + 1)
        return 200, answer, None

    def _change(self, entry: Entry) -> dict:
        found = {"kind": "drive#change", "changeType": "file", "fileId": entry.id, "removed": entry.removed,
                 "time": "2026-12-03T17:00:00.000Z"}
        return found if entry.removed else {**found, "file": self._json(entry)}

    def _json(self, entry: Entry) -> dict:
        found = {"kind": "drive#file", "id": entry.id, "name": entry.name, "mimeType": entry.mime,
                 "parents": [entry.parent] if entry.parent else [], "trashed": entry.trashed,
                 "version": str(entry.version + entry.seq * 1000),
                 "webViewLink": f"https://drive.google.com/file/d/{entry.id}/view"}
        if not entry.mime.startswith("application/vnd.google-apps."):
            found |= {"size": str(len(entry.content)), "md5Checksum": hashlib.md5(entry.content).hexdigest()}
        if entry.drive:
            found["driveId"] = entry.drive
        return found

    def _export(self, entry: Entry, mime: str | None):
        if entry.mime != DOC:
            return _error(403, "fileNotExportable", "Export only supports Docs Editors files.")
        text = entry.content.decode()
        if mime == "text/html":
            paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
            return 200, f"<html><body>{paragraphs}</body></html>".encode(), {"Content-Type": "text/html"}
        if mime != DOCX:
            return _error(400, "badRequest", "The requested conversion is not supported.")
        from docx import Document

        document, out = Document(), io.BytesIO()
        for line in text.splitlines():
            if line.startswith("# "):
                document.add_heading(line[2:], level=1)
            elif line.strip():
                document.add_paragraph(line)
        document.save(out)
        return 200, out.getvalue(), {"Content-Type": DOCX}

    def _watch(self, call: Call):
        body = call.body or {}
        if body.get("type") != "web_hook" or not str(body.get("address", "")).startswith(("https://", "http://")):
            return _error(400, "push.webhookUrlUnauthorized", "Unauthorized WebHook callback channel")
        channel = {**body, "resourceId": "res-" + secrets.token_hex(6), "messages": 0,
                   "pageToken": call.query.get("pageToken")}
        self.channels[body["id"]] = channel
        threading.Thread(target=self._notify, args=(channel, "sync"), daemon=True).start()
        return 200, {"kind": "api#channel", "id": body["id"], "resourceId": channel["resourceId"],
                     "resourceUri": "https://www.googleapis.com/drive/v3/changes?alt=json",
                     "expiration": body.get("expiration")}, None


def _error(status: int, reason: str, message: str):
    return status, {"error": {"errors": [{"domain": "global", "reason": reason, "message": message}],
                              "code": status, "message": message}}, None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def post(url: str, data: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0
