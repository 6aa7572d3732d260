"""Running the bot: Socket Mode, or the HTTP Events API (/slack/events) with /healthz, on a threaded server."""
from __future__ import annotations

import json
import logging
from typing import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


def make_http_server(app: App, host: str, port: int, healthy: Callable[[], bool]) -> ThreadingHTTPServer:
    """POST /slack/events -> Bolt (signature check, url_verification, ack); GET /healthz -> healthy()."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            log.debug("http: " + fmt, *args)

        def _reply(self, status: int, body: str, headers: dict | None = None) -> None:
            raw = body.encode()
            self.send_response(status)
            for name, values in (headers or {}).items():
                for value in values if isinstance(values, list) else [values]:
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            if urlparse(self.path).path != "/healthz":
                return self._reply(404, "not found")
            if healthy():
                return self._reply(200, json.dumps({"status": "ok"}), {"Content-Type": "application/json"})
            return self._reply(503, json.dumps({"status": "database unavailable"}),
                               {"Content-Type": "application/json"})

        def do_POST(self):
            parsed = urlparse(self.path)
            if parsed.path != "/slack/events":
                return self._reply(404, "not found")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._reply(413, "too large")
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers = {k.lower(): [v] for k, v in self.headers.items()}
            try:
                response = app.dispatch(BoltRequest(body=body, query=parsed.query, headers=headers))
            except Exception:  # a malformed payload must not take the connection down without an answer
                log.exception("could not handle a request")
                return self._reply(500, "")
            self._reply(response.status, response.body or "", response.headers)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # the default listen backlog (5) resets connections under bursts

    return Server((host, port), Handler)


def serve_http(app: App, host: str, port: int, healthy: Callable[[], bool]) -> None:
    server = make_http_server(app, host, port, healthy)
    log.warning("HR assistant listening on http://%s:%d/slack/events", host, server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def serve_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()
