"""Running the bot: Socket Mode, or the HTTP Events API (/slack/events) with /healthz, on a threaded server."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Callable
from urllib.parse import urlparse

from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
READ_TIMEOUT = 10.0   # seconds a connection may stay silent (Slack sends its whole request at once)
CONNECTIONS = 64      # connections handled at once; more wait in the listen backlog, then get 503
READY_WAIT = 0.8      # seconds /readyz waits for the database before saying it is not ready


def _within(check: Callable[[], bool], seconds: float) -> bool:
    """check() if it answers within `seconds`, else False (a database that hangs is as good as down)."""
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(bool(check())), daemon=True)
    worker.start()
    worker.join(seconds)
    return bool(result and result[0])


def make_http_server(app: App, host: str, port: int, healthy: Callable[[], bool], *,
                     read_timeout: float = READ_TIMEOUT, connections: int = CONNECTIONS,
                     details: Callable[[], dict] | None = None) -> HTTPServer:
    """POST /slack/events -> Bolt (signature check, url_verification, ack); GET /healthz -> alive (liveness);
    GET /readyz -> healthy() within a second, plus details() (readiness).
    Bounded: at most `connections` at once on a fixed pool of threads, each silent connection dropped after
    `read_timeout`, so idle or half-open connections cannot pile up threads."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = read_timeout  # applied to the socket by StreamRequestHandler.setup

        def log_message(self, fmt, *args):
            log.debug("http: " + fmt, *args)

        def _reply(self, status: int, body: str | bytes, headers: dict | None = None) -> None:
            raw = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            for name, values in (headers or {}).items():
                for value in values if isinstance(values, list) else [values]:
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            path = urlparse(self.path).path
            json_type = {"Content-Type": "application/json"}
            if path == "/healthz":  # liveness: the process serves requests; never waits on anything else
                return self._reply(200, json.dumps({"status": "ok"}), json_type)
            if path == "/metrics":  # Prometheus; the database gauges wait at most 1 s for a connection
                from knowledge.operations.metrics import CONTENT_TYPE, exposition

                return self._reply(200, exposition(), {"Content-Type": CONTENT_TYPE})
            if path != "/readyz":
                return self._reply(404, "not found")
            # readiness: can it answer now? The database check gets READY_WAIT, then counts as down.
            ready = _within(healthy, READY_WAIT)
            extra = details() if details else {}
            body = {"status": "ready" if ready else "not ready", "database": "ok" if ready else "unavailable",
                    **extra}
            return self._reply(200 if ready else 503, json.dumps(body), json_type)

        def do_POST(self):
            parsed = urlparse(self.path)
            if parsed.path != "/slack/events":
                return self._reply(404, "not found")
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self.close_connection = True
                return self._reply(400, "bad Content-Length")
            if length > MAX_BODY:
                self.close_connection = True
                return self._reply(413, "too large")
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers = {k.lower(): [v] for k, v in self.headers.items()}
            from knowledge.operations.metrics import SLACK_REQUEST_SECONDS

            started = time.perf_counter()
            try:
                response = app.dispatch(BoltRequest(body=body, query=parsed.query, headers=headers))
            except Exception:  # a malformed payload must not take the connection down without an answer
                log.exception("could not handle a request")
                SLACK_REQUEST_SECONDS.labels(status="500").observe(time.perf_counter() - started)
                return self._reply(500, "")
            SLACK_REQUEST_SECONDS.labels(status=str(response.status)).observe(time.perf_counter() - started)
            self._reply(response.status, response.body or "", response.headers)

    class Server(HTTPServer):
        request_queue_size = 128  # the default listen backlog (5) resets connections under bursts

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pool = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="hrbot-http")
            self.slots = threading.BoundedSemaphore(connections)

        def process_request(self, request, client_address):
            if not self.slots.acquire(blocking=False):  # every worker busy: say so at once, hold nothing
                try:
                    request.settimeout(1.0)
                    request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                    b"Connection: close\r\nRetry-After: 1\r\n\r\n")
                except OSError:
                    pass
                self.shutdown_request(request)
                return
            self.pool.submit(self._work, request, client_address)

        def _work(self, request, client_address):
            try:
                self.finish_request(request, client_address)
            except (socket.timeout, ConnectionError):
                pass  # a client that went quiet or away
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
                self.slots.release()

        def server_close(self):
            super().server_close()
            self.pool.shutdown(wait=False, cancel_futures=True)

    return Server((host, port), Handler)


DRAIN = 25.0  # seconds to finish answers in progress on SIGTERM (Kubernetes waits 30 before SIGKILL)


def serve_http(app: App, host: str, port: int, healthy: Callable[[], bool],
               details: Callable[[], dict] | None = None, listeners: ThreadPoolExecutor | None = None,
               drain: float = DRAIN, hand_back: Callable[[], int] | None = None,
               on_stop: Callable[[], None] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C, then stop taking requests and finish the answers already started (up to
    `drain` seconds); hand_back() then returns the claims of any still unfinished, so another replica (or the
    next start) answers them. Returns how many were handed back."""
    import signal

    server = make_http_server(app, host, port, healthy, details=details)
    log.warning("HR assistant listening on http://%s:%d/slack/events", host, server.server_address[1])

    def stop(signum, frame) -> None:
        log.warning("stopping: no new requests; finishing the answers in progress (up to %.0f s)", drain)
        if on_stop is not None:
            on_stop()  # e.g. no more redeliveries: this process takes no new work
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _finish(lambda: server.pool.shutdown(wait=True), drain)  # requests being read and acked
        if listeners is not None:
            _finish(lambda: listeners.shutdown(wait=True), drain)  # answers being written
        returned = _hand_back(hand_back)
        server.server_close()
    return returned


def _finish(wait: Callable[[], None], seconds: float) -> None:
    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(seconds)
    if waiter.is_alive():
        log.error("gave up waiting after %.0f s; some answers in progress were not finished", seconds)


def serve_socket_mode(app: App, app_token: str, listeners: ThreadPoolExecutor | None = None,
                      drain: float = DRAIN, hand_back: Callable[[], int] | None = None,
                      on_stop: Callable[[], None] | None = None, *, handler=None,
                      stopping: threading.Event | None = None) -> int:
    """Socket Mode until SIGTERM or Ctrl-C, then as serve_http: the WebSocket is closed (no new events: Slack
    sends the ones not acked yet to another connection), the answers already started are finished for up to
    `drain` seconds, and hand_back() returns the claims of the rest. Returns how many were handed back.
    `handler` and `stopping` are for tests (a SocketModeHandler; an event that stops it like a signal)."""
    import signal

    if handler is None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, app_token)
    stopping = stopping or threading.Event()

    def stop(signum, frame) -> None:
        stopping.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
    try:
        handler.connect()
        log.warning("HR assistant connected to Slack (Socket Mode)")
        while not stopping.wait(1.0):
            pass
    finally:
        for s, previous_handler in previous.items():
            signal.signal(s, previous_handler)
    return _drain_socket_mode(handler, listeners, drain, hand_back, on_stop)


def _drain_socket_mode(handler, listeners: ThreadPoolExecutor | None, drain: float,
                       hand_back: Callable[[], int] | None, on_stop: Callable[[], None] | None) -> int:
    log.warning("stopping: no new events; finishing the answers in progress (up to %.0f s)", drain)
    if on_stop is not None:
        on_stop()
    started = time.monotonic()
    # Closes the WebSocket without reconnecting and waits for the envelopes being acked (each only claims its
    # event): nothing new comes in after this.
    _finish(handler.close, drain)
    if listeners is not None:
        _finish(lambda: listeners.shutdown(wait=True), max(0.0, drain - (time.monotonic() - started)))
    return _hand_back(hand_back)


def _hand_back(hand_back: Callable[[], int] | None) -> int:
    returned = 0
    if hand_back is not None:
        try:
            returned = hand_back()
            if returned:
                log.warning("handed back %d unfinished answers: another replica or the next start answers them",
                            returned)
        except Exception as exc:  # the database may be what is failing
            log.error("could not hand back unfinished answers (%s); they are answered when their lease ends", exc)
    log.warning("stopped")
    return returned
