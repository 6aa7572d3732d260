"""HTTP mode under hostile connections and at shutdown (issue 14 item 7, issue 23): waitress serving bot/web.py.

Silent connections hold no thread (waitress reads whole requests on its event loop), are dropped after the read
timeout, and past the connection limit new connections wait in the listen backlog instead of being refused; bad
lengths are refused before anything reads the body; SIGTERM stops accepting and finishes what is in progress."""
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.server import MAX_BODY, HttpServer, Limits, serve_http
from bot.web import WebApp
from bot.webhooks import WebhookResponse, Webhooks

QUICK = dict(read_timeout=1, cleanup_every=1)


@pytest.fixture
def serve(bot):
    """serve(web_app_kwargs..., limits) -> a running HttpServer around the test bot's Bolt app."""
    running = []

    def start(limits: Limits = Limits(), healthy=lambda: True, **kwargs) -> HttpServer:
        server = HttpServer(WebApp(bot.app, healthy, **kwargs), "127.0.0.1", 0, limits).start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.close()


def _get(port: int, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _raw(port: int, request: bytes) -> bytes:
    """What the server answers to `request`, read until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        return reply


def _until(condition, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_silent_connections_hold_no_thread_and_keep_no_one_out(serve):
    server = serve(Limits(threads=2, connections=64, **QUICK))
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]  # connect, send nothing
    try:
        _until(lambda: server.open_connections() == 50, "the server did not take the connections")
        assert threading.active_count() == before  # not a thread per connection, nor one per request
        assert _get(server.port, "/healthz")[0] == 200  # answered while they are held, no 503
    finally:
        for s in idle:
            s.close()


def test_past_the_limit_connections_wait_until_silent_ones_are_dropped(serve):
    server = serve(Limits(connections=4, **QUICK))
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(4)]
    try:
        _until(lambda: server.open_connections() == 4, "the server did not take the connections")
        answered = []
        waiting = threading.Thread(target=lambda: answered.append(_get(server.port, "/healthz")[0]))
        waiting.start()  # a fifth connection: in the listen backlog, not refused
        dropped = [s.recv(1) for s in idle]  # the server closes each silent one after the read timeout
        waiting.join(30)
        assert dropped == [b""] * 4 and answered == [200]
    finally:
        for s in idle:
            s.close()


@pytest.mark.parametrize("length", [b"-1", b"12abc", b"1, 2"])
def test_a_bad_content_length_is_refused(serve, length):
    server = serve()
    head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
    reply = _raw(server.port, head + length + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")


def test_a_body_over_the_limit_is_refused_before_it_is_sent(serve):
    server = serve()
    head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
    assert _raw(server.port, head % (MAX_BODY + 1)).startswith(b"HTTP/1.1 413")
    # the limit itself is allowed: the whole body is read and goes to Bolt (unsigned, so refused by it)
    assert _raw(server.port, head % MAX_BODY + b"x" * MAX_BODY).startswith(b"HTTP/1.1 401")


def test_readiness_says_not_ready_when_the_database_hangs(serve):
    server = serve(healthy=lambda: time.sleep(30) or True, details=lambda: {"worker": "running"})
    status, body = _get(server.port, "/readyz")
    assert status == 503 and json.loads(body) == {"status": "not ready", "database": "unavailable",
                                                  "worker": "running"}
    assert _get(server.port, "/healthz")[0] == 200  # liveness does not depend on the database


def test_slack_requests_are_timed_in_the_metrics_by_status(bot):
    def count(status: str) -> float:
        text = _get(int(bot.url.rsplit(":", 1)[1]), "/metrics")[1].decode()
        prefix = f'hrbot_slack_request_seconds_count{{status="{status}"}} '
        return sum(float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix))

    before_ok, before_refused = count("200"), count("401")
    assert bot.post(json.dumps({"type": "url_verification", "challenge": "c", "token": "t"}))[0] == 200
    assert bot.post(json.dumps({"type": "url_verification", "challenge": "c"}), secret="forged")[0] == 401
    assert (count("200"), count("401")) == (before_ok + 1, before_refused + 1)


def test_unknown_paths_and_methods(serve):
    server = serve()
    assert _get(server.port, "/nowhere")[0] == 404
    assert _get(server.port, "/slack/events")[0] == 405  # a GET where only POST is served


def test_webhooks_go_to_the_handler_registered_under_their_name(serve):
    received = []
    webhooks = Webhooks()
    webhooks.register("test-source", lambda request: received.append(request) or WebhookResponse(
        202, b"queued", {"Content-Type": "text/plain"}))
    server = serve(webhooks=webhooks)

    def post(name: str) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{server.port}/webhooks/{name}?x=1", data=b'{"a": 1}',
                                         method="POST", headers={"X-Signature": "sig"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    assert post("test-source") == (202, b"queued")
    assert post("unknown") == (404, b"no such webhook")
    [request] = received
    assert (request.name, request.body, request.query, request.headers["x-signature"]) == \
        ("test-source", b'{"a": 1}', "x=1", "sig")


def test_a_webhook_name_is_registered_once():
    webhooks = Webhooks()
    webhooks.register("a", lambda request: WebhookResponse())
    with pytest.raises(ValueError):
        webhooks.register("a", lambda request: WebhookResponse())
    with pytest.raises(ValueError):
        webhooks.register("../a", lambda request: WebhookResponse())


def test_stopping_refuses_new_connections_and_finishes_what_is_in_progress(bot):
    """What SIGTERM does in HTTP mode: no new connections, the request and the answer in progress finished, then
    the claims of the rest handed back."""
    happened, release = [], threading.Event()
    webhooks = Webhooks()
    webhooks.register("slow", lambda request: release.wait(30) and WebhookResponse(200, b"done"))
    listeners = ThreadPoolExecutor(1)
    listeners.submit(lambda: release.wait(30) and happened.append("answer finished"))
    stopping, started = threading.Event(), []
    serving = threading.Thread(target=lambda: happened.append(("handed back", serve_http(
        bot.app, "127.0.0.1", 0, lambda: True, listeners=listeners, drain=30, webhooks=webhooks,
        hand_back=lambda: happened.append("hand back") or 0, stopping=stopping, started=started.append))))
    serving.start()
    _until(lambda: started, "not started")
    port = started[0].port
    in_progress = threading.Thread(target=lambda: happened.append(_raw(port, (
        b"POST /webhooks/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))))
    in_progress.start()
    _until(started[0].busy, "the request did not arrive")
    stopping.set()

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return False
        except ConnectionRefusedError:
            return True

    _until(refused, "still accepting connections")
    assert happened == []  # nothing finished or handed back while the request is in progress
    release.set()
    in_progress.join(30)
    serving.join(30)
    reply = next(h for h in happened if isinstance(h, bytes))
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"done")
    assert [h for h in happened if not isinstance(h, bytes)] == ["answer finished", "hand back", ("handed back", 0)]


def test_a_trickling_request_is_cut_off_and_keeps_no_one_out(serve):
    """Slowloris (outside probe, issue 23): clients that send one header line a second never go silent, so the
    read timeout never closes them; with every slot taken, /healthz and Slack's acks waited as long as they went
    on. A request must arrive whole within the request deadline."""
    server = serve(Limits(connections=3, request_deadline=1, **QUICK))
    stop = threading.Event()
    tricklers = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]

    def trickle(s: socket.socket) -> None:
        try:
            s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
            while not stop.wait(0.3):
                s.sendall(b"X-a: b\r\n")
        except OSError:
            pass  # the server closed it: what this test wants

    threads = [threading.Thread(target=trickle, args=(s,), daemon=True) for s in tricklers]
    for t in threads:
        t.start()
    try:
        assert _get(server.port, "/healthz", timeout=20) == (200, b'{"status": "ok"}')
    finally:
        stop.set()
        for s in tricklers:
            s.close()


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b"\xff\xfe{", b"payload=%7Bx"])
def test_an_unsigned_garbage_body_is_refused_before_it_is_parsed(serve, caplog, body):
    """Bolt parses a body before its signature middleware runs: unsigned garbage was a 500 with a traceback in the
    log (anyone could fill the logs). The signature is checked first: 401, nothing logged as an error."""
    server = serve()
    request = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    reply = _raw(server.port, request)
    assert reply.startswith(b"HTTP/1.1 401"), reply[:80]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
