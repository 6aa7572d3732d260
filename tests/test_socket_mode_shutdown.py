"""Socket Mode stops like HTTP mode: on SIGTERM no new events are taken, the answers in progress are finished for
HRBOT_DRAIN_SECONDS, the rest are handed back (the next process answers them, once), and it exits 0."""
import json
import signal
import subprocess
import time

import psycopg

from tests.fakes.slack_api import FakeSlack, event_body
from tests.fakes.socket_mode import FakeSocketMode
from tests.slack_helpers import USERS
from tests.test_shutdown import HRBOT, _env


def _start(env: dict, socket: FakeSocketMode) -> subprocess.Popen:
    before = socket.closed + len(socket.connections)
    process = subprocess.Popen([str(HRBOT), "serve", "--no-worker"], env={**env, "SLACK_APP_TOKEN": "xapp-test"},
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while socket.closed + len(socket.connections) <= before:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read())
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("hrbot serve did not connect over Socket Mode")
        time.sleep(0.1)
    return process


def _send(socket: FakeSocketMode, count: int, prefix: str) -> None:
    for i in range(count):
        event = {"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "user": "U0SAMPLE",
                 "text": f"What is the policy on question {i}?", "ts": f"1700002{i:03d}.000100"}
        socket.send_event(json.loads(event_body(event, f"{prefix}{i}")))
    socket.wait_acks(count)


def _states(database_url: str, prefix: str) -> list:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT state, count(*) FROM processed_events WHERE event_id LIKE %s GROUP BY state",
                            [prefix + "%"]).fetchall()


def test_socket_mode_sigterm_finishes_answers_in_progress(database_url, tmp_path):
    with FakeSlack(users=USERS) as fake, FakeSocketMode() as socket:
        fake.socket_url = socket.url
        fake.slow_down("chat.postMessage", 1.5)  # every answer is mid-way (its placeholder) when SIGTERM comes
        process = _start(_env(database_url, tmp_path, fake), socket)
        try:
            _send(socket, 6, "EvSockDrain")
            fake.wait_for("chat.postMessage", 6)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
        stderr = process.stderr.read()
        assert "finishing the answers in progress" in stderr, stderr
        assert len(fake.calls_to("chat.update")) == 6, stderr
        assert socket.connections == []  # the WebSocket was closed, and not opened again
        assert _states(database_url, "EvSockDrain") == [("answered", 6)]


def test_socket_mode_hands_back_what_it_cannot_finish_and_the_next_process_answers_it_once(database_url, tmp_path):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM processed_events WHERE event_id LIKE 'EvSockBack%'")
    with FakeSlack(users=USERS) as fake, FakeSocketMode() as socket:
        fake.socket_url = socket.url
        fake.slow_down("chat.update", 8.0)  # no answer can be delivered within the 1 s drain
        env = _env(database_url, tmp_path, fake, HRBOT_DRAIN_SECONDS="1")
        process = _start(env, socket)
        try:
            _send(socket, 4, "EvSockBack")
            fake.wait_for("chat.postMessage", 4)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
        stderr = process.stderr.read()
        assert "handed back 4" in stderr, stderr
        assert _states(database_url, "EvSockBack") == [("answering", 4)]
        fake.slow_down("chat.update", 0.0)
        second = _start(env, socket)
        try:
            deadline = time.monotonic() + 60
            while _states(database_url, "EvSockBack") != [("answered", 4)] and time.monotonic() < deadline:
                time.sleep(0.25)
            assert _states(database_url, "EvSockBack") == [("answered", 4)]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
        assert len(fake.calls_to("chat.postMessage")) == 4  # the second process reused the placeholders
        assert len({c.args["ts"] for c in fake.calls_to("chat.update")}) == 4
