"""A fake Slack Web API on 127.0.0.1 (port 0) that records every call, plus request signing as Slack does it."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse

JSON_FIELDS = {"blocks", "view", "prompts", "attachments", "metadata", "chunks"}
STREAM_METHODS = {"chat.startStream", "chat.appendStream", "chat.stopStream"}


@dataclass
class Call:
    method: str
    args: dict
    headers: dict
    at: float = field(default_factory=time.time)
    result: dict | None = None  # what the fake answered (e.g. the ts of a posted message)


class FakeSlack:
    def __init__(self, users: dict[str, dict] | None = None, bot_user_id: str = "UBOT", team_id: str = "T0TEST"):
        self.users = users or {}
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.calls: list[Call] = []
        self._delays: dict[str, float] = {}
        self.files: dict[str, dict] = {}
        self._file_bytes: dict[str, bytes] = {}
        self._replies: dict[tuple[str, str], list[dict]] = {}
        self._failures: dict[str, list[tuple[int, int, str]]] = {}
        self.held: list[Call] = []  # requests that arrived during an outage (hang)
        self._outage: tuple[float, frozenset | None, bool] | None = None
        self.socket_url: str | None = None  # what apps.connections.open hands out (tests.fakes.socket_mode)
        self.keep_threads = False  # True: the bot's threaded posts show in conversations.replies, as in Slack
        self._posted: dict[tuple[str, str], list[dict]] = {}
        self._ts = 0
        self._lock = threading.Lock()
        self.streams: dict[str, dict] = {}  # streamed messages by ts: channel, text so far, state, final blocks
        self.streaming_refused: str | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._handle()

            def do_POST(self):
                self._handle()

            def _handle(self):
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = fake._route(url.path, dict(parse_qsl(url.query)), raw, headers)
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes)
                                     else "application/json")
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the client gave up waiting (a request held by hang())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # a short poll interval: stopping the server doesn't add half a second to every test
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    # --- addresses ------------------------------------------------------------------------------------------
    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.root + "/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.root}/response/{name}"

    def file_url(self, file_id: str) -> str:
        return f"{self.root}/files/{file_id}"

    # --- test controls --------------------------------------------------------------------------------------
    def add_file(self, file_id: str, name: str, content: bytes, mimetype: str = "application/pdf",
                 filetype: str = "pdf", size: int | None = None, user: str | None = None) -> dict:
        """A file in Slack; user: who shared it (files.info's `user`, its owner: only they can edit it)."""
        info = {"id": file_id, "name": name, "title": name, "mimetype": mimetype, "filetype": filetype,
                **({"user": user} if user else {}),
                "size": len(content) if size is None else size, "url_private_download": self.file_url(file_id),
                "url_private": self.file_url(file_id), "permalink": f"https://fake.slack.example/files/{file_id}"}
        self.files[file_id] = info
        self._file_bytes[file_id] = content
        return info

    def edit_file(self, file_id: str, content: bytes) -> None:
        """Its owner edits it in Slack: the same id and permalink, new content (Slack then sends file_change)."""
        self.files[file_id]["size"] = len(content)
        self._file_bytes[file_id] = content

    def delete_file(self, file_id: str) -> None:
        """Deleted in Slack (Slack then sends file_deleted): files.info and the download answer not found."""
        self.files.pop(file_id, None)
        self._file_bytes.pop(file_id, None)

    def set_replies(self, channel: str, thread_ts: str, messages: list[dict]) -> None:
        self._replies[(channel, thread_ts)] = messages

    def slow_down(self, method: str, seconds: float) -> None:
        """Answer this method only after a pause (a slow Slack, or work still in flight at a shutdown)."""
        self._delays[method] = seconds

    def hang(self, seconds: float, methods: set[str] | None = None, processed: bool = False) -> None:
        """An outage: for `seconds` from now, requests (to `methods`, default all) are held until it ends, so
        clients time out. When it ends they are answered 503 without effect, or with processed=True carried out
        then (a Slack that did the work but whose answers never got back). Held requests are in `held`."""
        self._outage = (time.time() + seconds, frozenset(methods) if methods else None, processed)

    def recover(self) -> None:
        """End the outage now (held requests are released as hang() says)."""
        if self._outage:
            self._outage = (time.time(), *self._outage[1:])

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1, error: str = "ratelimited",
                  times: int = 1) -> None:
        self._failures.setdefault(method, []).extend([(status, retry_after, error)] * times)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} x {method}; got {[c.method for c in self.calls]}")

    # --- routing --------------------------------------------------------------------------------------------
    def _route(self, path: str, query: dict, raw: bytes, headers: dict):
        if path.startswith("/files/"):
            file_id = path.rsplit("/", 1)[1]
            self._record(f"file:{file_id}", {}, headers)
            if not headers.get("authorization", "").startswith("Bearer "):
                return 403, {"ok": False, "error": "not_authed"}, {}
            return (200, self._file_bytes[file_id], {}) if file_id in self._file_bytes else (404, b"", {})
        args = dict(query)
        if raw:
            if "json" in headers.get("content-type", ""):
                args.update(json.loads(raw))
            else:
                for key, value in parse_qsl(raw.decode()):
                    args[key] = json.loads(value) if key in JSON_FIELDS and value[:1] in "[{" else value
        if path.startswith("/response/"):
            self._record(f"response_url:{path.rsplit('/', 1)[1]}", args, headers)
            return 200, {"ok": True}, {}
        method = path.removeprefix("/api/")
        outage = self._outage
        if outage and time.time() < outage[0] and (outage[1] is None or method in outage[1]):
            with self._lock:
                self.held.append(Call(method, args, headers))
            while self._outage and time.time() < self._outage[0]:
                time.sleep(0.05)
            if not outage[2]:
                return 503, {"ok": False, "error": "service_unavailable"}, {}
        call = self._record(method, args, headers)
        if self._delays.get(method):
            time.sleep(self._delays[method])
        failures = self._failures.get(method)
        if failures:
            status, retry_after, error = failures.pop(0)
            return status, {"ok": False, "error": error}, {"Retry-After": str(retry_after)}
        if method in STREAM_METHODS and not headers.get("authorization", "").startswith("Bearer "):
            call.result = {"ok": False, "error": "not_authed"}
        else:
            call.result = self._answer(method, args)
        return 200, call.result, {}

    def _record(self, method: str, args: dict, headers: dict) -> Call:
        call = Call(method, args, headers)
        with self._lock:
            self.calls.append(call)
        return call

    def _next_ts(self) -> str:
        with self._lock:
            self._ts += 1
            return f"1800000000.{self._ts:06d}"

    def _answer(self, method: str, args: dict) -> dict:
        ok = {"ok": True}
        if method == "auth.test":
            return {**ok, "user_id": self.bot_user_id, "bot_id": "B0BOT", "team_id": self.team_id,
                    "url": "https://fake.slack.example/"}
        if method == "users.info":
            user = self.users.get(args.get("user"))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            flags = ("deleted", "is_restricted", "is_ultra_restricted", "is_stranger", "is_email_confirmed")
            return {**ok, "user": {"id": args["user"], "real_name": user.get("real_name"),
                                   "is_bot": user.get("is_bot", False), "team_id": user.get("team_id", self.team_id),
                                   **{f: user[f] for f in flags if f in user},
                                   **({"tz": user["tz"]} if "tz" in user else {}),
                                   # Slack sends the locale only when asked for it (include_locale=true)
                                   **({"locale": user.get("locale", "en-US")}
                                      if str(args.get("include_locale")).lower() in ("1", "true") else {}),
                                   "profile": {"email": user.get("email"), "real_name": user.get("real_name")}}}
        if method in ("chat.postMessage", "chat.update"):
            refused = _message_limits(args)
            if refused:
                return {"ok": False, "error": refused}
            ts = args.get("ts") or self._next_ts()
            if self.keep_threads and method == "chat.postMessage" and args.get("thread_ts"):
                with self._lock:
                    self._posted.setdefault((args.get("channel"), args["thread_ts"]), []).append(
                        {"ts": ts, "text": args.get("text"), "bot_id": "B0BOT", "user": self.bot_user_id,
                         "thread_ts": args["thread_ts"]})
            return {**ok, "channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text"), "blocks": args.get("blocks"), "ts": ts}}
        if method == "chat.postEphemeral":
            return {**ok, "message_ts": self._next_ts()}
        if method == "conversations.replies":
            key = (args.get("channel"), args.get("ts"))
            return {**ok, "messages": self._replies.get(key, []) + list(self._posted.get(key, [])),
                    "has_more": False}
        if method == "apps.connections.open":
            return {**ok, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_allowed"}
        if method == "conversations.open":
            return {**ok, "channel": {"id": "D" + str(args.get("users", "")).split(",")[0]}}
        if method in ("views.open", "views.publish", "views.update"):
            return {**ok, "view": {**(args.get("view") or {}), "id": "V" + self._next_ts().replace(".", "")}}
        if method == "files.info":
            info = self.files.get(args.get("file"))
            return {**ok, "file": info} if info else {"ok": False, "error": "file_not_found"}
        if method in STREAM_METHODS:
            return self._stream_call(method, args)
        if method in ("assistant.threads.setStatus", "assistant.threads.setTitle",
                      "assistant.threads.setSuggestedPrompts", "reactions.add", "chat.delete"):
            return ok
        return {"ok": False, "error": "unknown_method"}

    # --- chat.startStream / appendStream / stopStream -------------------------------------------------------
    def refuse_streaming(self, error: str = "unknown_method") -> None:
        """Answer the stream methods with this error, as an older workspace or plan does."""
        self.streaming_refused = error

    def streamed_text(self, ts: str) -> str:
        """Everything streamed into one message: its start's, appends' and stop's markdown_text, in order."""
        return self.streams[ts]["text"]

    def _stream_call(self, method: str, args: dict) -> dict:
        """Checked the way Slack documents them: channel and thread_ts to start (and the recipient user and team
        outside a DM), channel and ts after; appends need markdown_text (or chunks), 12,000 characters at most; a
        message no longer streaming refuses appends and stops."""
        if self.streaming_refused:
            return {"ok": False, "error": self.streaming_refused}
        text = args.get("markdown_text") or ""
        if len(text) > 12_000:
            return {"ok": False, "error": "msg_too_long"}
        if method == "chat.startStream":
            if not args.get("channel") or not args.get("thread_ts"):
                return {"ok": False, "error": "invalid_arguments"}
            if not str(args["channel"]).startswith("D") and not (args.get("recipient_user_id")
                                                                 and args.get("recipient_team_id")):
                return {"ok": False, "error": "invalid_arguments"}
            ts = self._next_ts()
            with self._lock:
                self.streams[ts] = {"channel": args["channel"], "text": text, "state": "streaming", "blocks": None}
            return {"ok": True, "channel": args["channel"], "ts": ts}
        stream = self.streams.get(args.get("ts"))
        if not args.get("channel") or not args.get("ts"):
            return {"ok": False, "error": "invalid_arguments"}
        if stream is None or stream["channel"] != args["channel"]:
            return {"ok": False, "error": "message_not_found"}
        if stream["state"] != "streaming":
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if method == "chat.appendStream" and not (text or args.get("chunks")):
            return {"ok": False, "error": "invalid_arguments"}
        if method == "chat.stopStream":
            refused = _message_limits(args)
            if refused:
                return {"ok": False, "error": refused}
        with self._lock:
            stream["text"] += text
            if method == "chat.stopStream":
                stream["state"], stream["blocks"] = "stopped", args.get("blocks")
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def __enter__(self) -> "FakeSlack":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- requests as Slack sends them -----------------------------------------------------------------------------

def sign(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 scheme: HMAC-SHA256 over 'v0:{timestamp}:{body}' with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    content_type = "application/json" if body.lstrip().startswith("{") else "application/x-www-form-urlencoded"
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def event_body(event: dict, event_id: str, team_id: str = "T0TEST", api_app_id: str = "A0APP") -> str:
    return json.dumps({"token": "legacy", "team_id": team_id, "api_app_id": api_app_id, "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()), "event": event,
                       "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True}]})


def command_body(command: str, text: str, user_id: str, channel_id: str, response_url: str,
                 trigger_id: str = "t1") -> str:
    return urlencode({"command": command, "text": text, "user_id": user_id, "channel_id": channel_id,
                      "response_url": response_url, "trigger_id": trigger_id, "team_id": "T0TEST",
                      "api_app_id": "A0APP", "token": "legacy"})


def action_body(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _message_limits(args: dict) -> str | None:
    """Slack's documented message limits, as its API refuses them: text over 40,000 characters (msg_too_long),
    more than 50 blocks or a section's text over 3,000 characters (invalid_blocks)."""
    if len(args.get("text") or "") > 40_000:
        return "msg_too_long"
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        text = block.get("text") if isinstance(block, dict) else None
        if block.get("type") == "section" and isinstance(text, dict) and len(text.get("text") or "") > 3000:
            return "invalid_blocks"
    return None
