"""The plumbing the fake services share: a real HTTP server on 127.0.0.1 (a free port, a daemon thread) that
hands every request to one method and sends back what it returns, as JSON or as bytes."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse


@dataclass
class Call:
    """One request as the server saw it."""
    method: str
    path: str
    query: dict
    body: object          # parsed JSON (a form as a dict), or None
    headers: object = None  # the request's headers (case-insensitive get and [])


class Streamed:
    """A payload sent as it is made (HTTP/1.1 chunked), so a fake can answer with hundreds of MB without holding
    them: chunks is an iterable of bytes, consumed after the service's lock is released."""

    def __init__(self, chunks, content_type: str = "application/json; charset=utf-8"):
        self.chunks, self.content_type = chunks, content_type


class FakeService:
    """Subclasses implement answer(call) -> (status, payload, headers); payload bytes are sent as they are, a
    Streamed one chunk by chunk, anything else as JSON (a Content-Type among the headers overrides the default).
    Every call is kept in `calls`, in order."""

    content_type = "application/json; charset=utf-8"
    keep_calls = True  # False: only count them (a benchmark's 100,000 calls are not worth keeping)

    def __init__(self):
        self.calls: list[Call] = []
        self.call_count = 0
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

            def do_DELETE(self):
                self._handle("DELETE")

            def _handle(self, method):
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = "x-www-form-urlencoded" in (self.headers.get("Content-Type") or "")
                body = dict(parse_qsl(raw.decode())) if form else (json.loads(raw) if raw else None)
                call = Call(method, url.path, dict(parse_qsl(url.query)), body, self.headers)
                with service._lock:
                    service.call_count += 1
                    if service.keep_calls:
                        service.calls.append(call)
                    status, payload, headers = service.answer(call)
                if isinstance(payload, Streamed):
                    self._stream(status, payload, headers)
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                headers = {"Content-Type": "application/octet-stream" if isinstance(payload, bytes)
                           else service.content_type, **(headers or {})}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, status, payload, headers):
                self.send_response(status)
                for name, value in {"Content-Type": payload.content_type, **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in payload.chunks:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, call: Call) -> tuple[int, object, dict | None]:
        raise NotImplementedError

    @property
    def requests(self) -> list[Call]:
        return self.calls

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
