"""The HTTP endpoint under hostile connections: bounded threads, read timeouts, bad lengths (issue 14 item 7)."""
import socket
import threading
import time
import urllib.request

import urllib.error

import pytest

from bot.server import make_http_server


@pytest.fixture
def small_server(bot):
    server = make_http_server(bot.app, "127.0.0.1", 0, lambda: True, read_timeout=1.0, connections=8)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _healthz(port: int, timeout: float = 5.0) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as response:
        return response.status


def test_idle_connections_hold_no_more_than_the_pool_and_time_out(small_server):
    port = small_server.server_address[1]
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]  # connect, send nothing
    try:
        time.sleep(0.5)
        assert threading.active_count() - before <= 8  # not a thread per connection
        started = time.monotonic()
        try:
            status = _healthz(port)
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status in (200, 503) and time.monotonic() - started < 2  # answered or told to retry, at once
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + 10
    while True:  # once the silent connections time out, the server answers again
        try:
            if _healthz(port) == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the server did not recover"
        time.sleep(0.2)


def test_a_negative_content_length_is_refused_at_once(small_server):
    port = small_server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        started = time.monotonic()
        reply = s.recv(1024)
    assert reply.startswith(b"HTTP/1.1 400") and time.monotonic() - started < 2


def test_readiness_says_not_ready_within_a_second_when_the_database_hangs(bot):
    import json

    server = make_http_server(bot.app, "127.0.0.1", 0, lambda: time.sleep(30) or True,
                              details=lambda: {"worker": "running"})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        started = time.monotonic()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5)
            raise AssertionError("ready while the database hangs")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503 and json.loads(exc.read()) == {"status": "not ready", "database": "unavailable",
                                                                  "worker": "running"}
        assert time.monotonic() - started < 1.5
        assert _healthz(port) == 200  # liveness does not depend on the database
    finally:
        server.shutdown()
        server.server_close()
