"""Stopping `hrbot serve` (a deploy sends SIGTERM) finishes the answers already started, and hands back the
ones it cannot finish in time: the next process answers those, once (issue 12)."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.fakes.slack_api import FakeSlack, event_body, sign

SECRET = "shutdown-secret"
HRBOT = Path(sys.executable).with_name("hrbot")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(database_url: str, tmp_path, fake, **extra) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))},
            "DATABASE_URL": database_url, "HRBOT_DATA_DIR": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.base_url,
            # the console script would import the installed checkout's code, not this one's
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **extra}


def _start(env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen([str(HRBOT), "serve", "--http", "--host", "127.0.0.1", "--port", str(port),
                                "--no-worker"], env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read())
            time.sleep(0.25)
    process.kill()
    raise AssertionError("hrbot serve did not start")


def _send_dms(port: int, count: int, prefix: str) -> None:
    for i in range(count):
        event = {"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "user": "U0SAMPLE",
                 "text": f"What is the policy on question {i}?", "ts": f"1700001{i:03d}.000100"}
        body = event_body(event, f"{prefix}{i}")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
                                         method="POST", headers=sign(SECRET, body))
        assert urllib.request.urlopen(request, timeout=10).status == 200


def _dms_then_sigterm(env: dict, fake, count: int, prefix: str) -> str:
    """Start `hrbot serve`, send `count` DMs, SIGTERM it once their placeholders are up; it must exit 0.
    Returns its stderr."""
    port = _free_port()
    process = _start(env, port)
    try:
        _send_dms(port, count, prefix)
        fake.wait_for("chat.postMessage", count)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    return process.stderr.read()


def test_answers_that_cannot_finish_in_time_are_handed_back_and_answered_once_by_the_next_process(
        database_url, tmp_path):
    import psycopg

    from tests.slack_helpers import USERS

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM processed_events WHERE event_id LIKE 'EvHandBack%'")
    with FakeSlack(users=USERS) as fake:
        fake.slow_down("chat.update", 8.0)  # no answer can be delivered within the 1 s drain
        env = _env(database_url, tmp_path, fake, HRBOT_DRAIN_SECONDS="1")
        stderr = _dms_then_sigterm(env, fake, 4, "EvHandBack")
        assert "handed back" in stderr, stderr
        with psycopg.connect(database_url) as conn:
            states = conn.execute("SELECT state, count(*) FROM processed_events WHERE event_id LIKE 'EvHandBack%' "
                                  "GROUP BY state").fetchall()
        assert states == [("answering", 4)], states
        fake.slow_down("chat.update", 0.0)
        second = _start({**env, "HRBOT_DRAIN_SECONDS": "25"}, _free_port())
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with psycopg.connect(database_url) as conn:
                    answered = conn.execute("SELECT count(*) FROM processed_events WHERE event_id LIKE "
                                            "'EvHandBack%' AND state = 'answered'").fetchone()[0]
                if answered == 4:
                    break
                time.sleep(0.25)
            assert answered == 4
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
        # One placeholder per question (the second process reused the first's), each resolved by an update.
        assert len(fake.calls_to("chat.postMessage")) == 4
        assert len({c.args["ts"] for c in fake.calls_to("chat.update")}) == 4


def test_sigterm_finishes_answers_in_progress(database_url, tmp_path):
    from tests.slack_helpers import USERS

    with FakeSlack(users=USERS) as fake:
        fake.slow_down("chat.postMessage", 1.5)  # every answer is mid-way (its placeholder) when SIGTERM comes
        stderr = _dms_then_sigterm(_env(database_url, tmp_path, fake), fake, 8, "EvShutdown")
        assert "finishing the answers in progress" in stderr, stderr
        assert len(fake.calls_to("chat.update")) == 8, stderr
