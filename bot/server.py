"""Running the bot: HTTP mode (waitress serving bot/web.py's routes) or Socket Mode (Bolt's handler). Both stop
the same way on SIGTERM: no new work, the answers in progress finished for up to the drain time, the rest handed
back."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from slack_bolt import App

from bot.web import WebApp
from bot.webhooks import Webhooks

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
LOOP_TURN = 0.1  # seconds the event loop waits for a socket before it looks at what it was told to do
DRAIN = 25.0  # seconds to finish answers in progress on SIGTERM (Kubernetes waits 30 before SIGKILL)


@dataclass(frozen=True)
class Limits:
    """What one HTTP-mode process takes on. waitress reads each whole request on its event loop before a worker
    thread sees it, so a slow or silent client holds a connection slot (a socket), never a thread."""
    threads: int = 16          # requests being answered at once (each an ack: signature check, claim, ack)
    connections: int = 100     # open connections; more wait in the listen backlog until one closes
    read_timeout: int = 10     # seconds a connection may stay silent (Slack sends its whole request at once)
    request_deadline: int = 10  # seconds a request may take to arrive whole, however it trickles (slowloris)
    cleanup_every: int = 2     # seconds between two sweeps for silent connections
    max_body: int = MAX_BODY   # larger bodies get 413 before anything reads them


def _enforce_request_deadline(server, seconds: int) -> None:
    """Close a connection whose request has not arrived whole `seconds` after its first byte. waitress closes only
    connections that go silent, so a client that sends one header line a second would hold its slot for hours, and
    a hundred such clients would keep every slot, /healthz and Slack's acks included (found by an outside probe).
    Checked at waitress's own maintenance sweep (every `cleanup_every` seconds)."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser

    class TimedParser(HTTPRequestParser):
        def __init__(self, adj):
            super().__init__(adj)
            self.begun = time.time()  # waitress's maintenance clock

    class DeadlineChannel(HTTPChannel):
        parser_class = TimedParser

    sweep = server.maintenance

    def maintenance(now: float) -> None:
        sweep(now)
        for channel in list(server.active_channels.values()):
            request = getattr(channel, "request", None)
            if request is not None and not request.completed and now - request.begun > seconds:
                log.info("closing a connection whose request took over %d s to arrive", seconds)
                channel.will_close = True

    server.channel_class = DeadlineChannel
    server.maintenance = maintenance


class HttpServer:
    """waitress around a WSGI app, on a thread of its own, with the steps a drain needs: stop accepting, wait for
    the requests in progress, close."""

    def __init__(self, wsgi_app, host: str, port: int, limits: Limits = Limits()):
        import waitress

        self._server = waitress.create_server(
            wsgi_app, host=host, port=port, threads=limits.threads,
            connection_limit=limits.connections + 2,  # its socket map also holds the listening socket and a pipe
            channel_timeout=limits.read_timeout, cleanup_interval=limits.cleanup_every,
            max_request_body_size=limits.max_body + 1,  # waitress refuses a body of this size or more
            asyncore_use_poll=True,  # select() fails on descriptors past 1024; the process holds many others
            ident="hrbot")
        _enforce_request_deadline(self._server, limits.request_deadline)
        self._thread: threading.Thread | None = None
        self._stopping, self._closing = threading.Event(), threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.effective_port)  # getnameinfo gives it as text

    def start(self) -> "HttpServer":
        self._thread = threading.Thread(target=self._loop, name="hrbot-http", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        """waitress's event loop, with this server's two changes of state made on it (where its sockets are
        touched), between two turns: stop accepting, and close."""
        from waitress import wasyncore

        server = self._server
        while not self._closing.is_set():
            if self._stopping.is_set() and server.accepting:
                self._stop_accepting_now()
            wasyncore.loop(timeout=LOOP_TURN, map=server._map, use_poll=True, count=1)
        wasyncore.close_all(server._map, ignore_all=True)

    def _stop_accepting_now(self) -> None:
        from waitress import wasyncore

        server = self._server
        server.accepting = False
        wasyncore.dispatcher.close(server)  # the listening socket only: not the trigger the channels still pull
        for channel in list(server.active_channels.values()):
            if not channel.requests and channel.request is None:
                channel.will_close = True

    def stop_accepting(self) -> None:
        """Close the listening socket (new connections are refused: the load balancer sends them elsewhere) and
        the connections that wait for a next request; those with a request in progress carry on."""
        self._stopping.set()
        self._server.pull_trigger()  # wake the loop now rather than at the end of its turn
        deadline = time.monotonic() + 5.0
        while self._server.accepting and time.monotonic() < deadline:
            time.sleep(0.01)

    def open_connections(self) -> int:
        return len(self._server.active_channels)

    def busy(self) -> bool:
        """A request is being read, answered or written back."""
        return any(channel.requests or channel.request is not None or channel.total_outbufs_len
                   for channel in tuple(self._server.active_channels.values()))

    def wait_idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.busy():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        """The worker threads first (a request still running after the drain gets a second), then every socket."""
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1.0)
        self._closing.set()
        if self._thread is not None:
            self._thread.join(5.0)
        else:
            from waitress import wasyncore

            wasyncore.close_all(self._server._map, ignore_all=True)


def serve_http(app: App, host: str, port: int, healthy: Callable[[], bool],
               details: Callable[[], dict] | None = None, listeners: ThreadPoolExecutor | None = None,
               drain: float = DRAIN, hand_back: Callable[[], int] | None = None,
               on_stop: Callable[[], None] | None = None, *, webhooks: Webhooks | None = None,
               limits: Limits = Limits(), stopping: threading.Event | None = None,
               started: Callable[[HttpServer], None] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C, then stop taking requests and finish the answers already started (up to
    `drain` seconds in all); hand_back() then returns the claims of any still unfinished, so another replica (or
    the next start) answers them. Returns how many were handed back. `stopping` (an event that stops it like a
    signal) and `started` (given the running server) are for tests."""
    server = HttpServer(WebApp(app, healthy, details, webhooks), host, port, limits).start()
    log.warning("HR assistant listening on http://%s:%d/slack/events", host, server.port)
    if started is not None:
        started(server)
    _wait_for_stop(stopping or threading.Event())
    return _drain_http(server, listeners, drain, hand_back, on_stop)


def _wait_for_stop(stopping: threading.Event) -> None:
    """Until SIGTERM or Ctrl-C (in the main thread), or until `stopping` is set."""
    import signal

    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, lambda signum, frame: stopping.set())
                for s in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _drain_http(server: HttpServer, listeners: ThreadPoolExecutor | None, drain: float,
                hand_back: Callable[[], int] | None, on_stop: Callable[[], None] | None) -> int:
    log.warning("stopping: no new requests; finishing the answers in progress (up to %.0f s)", drain)
    if on_stop is not None:
        on_stop()  # e.g. no more redeliveries: this process takes no new work
    started = time.monotonic()
    server.stop_accepting()
    if not server.wait_idle(drain):  # requests being read and acked
        log.error("gave up waiting after %.0f s for requests in progress", drain)
    server.close()
    if listeners is not None:  # answers being written
        _finish(lambda: listeners.shutdown(wait=True), max(0.0, drain - (time.monotonic() - started)))
    return _hand_back(hand_back)


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
