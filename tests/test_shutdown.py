"""Stopping `hrbot serve` (a deploy sends SIGTERM) finishes the answers already started: their events are
claimed, so Slack's retries would be dropped and the questions lost (issue 12)."""
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


def test_sigterm_finishes_answers_in_progress(database_url, tmp_path):
    from tests.slack_helpers import USERS

    with FakeSlack(users=USERS) as fake:
        fake.slow_down("chat.postMessage", 1.5)  # every answer is mid-way (its placeholder) when SIGTERM comes
        port = _free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))},
               "DATABASE_URL": database_url, "HRBOT_DATA_DIR": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-test",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.base_url}
        process = subprocess.Popen([str(HRBOT), "serve", "--http", "--host", "127.0.0.1", "--port", str(port),
                                    "--no-worker"], env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(240):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.25)
            for i in range(8):
                event = {"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "user": "U0SAMPLE",
                         "text": f"What is the policy on question {i}?", "ts": f"1700000{i:03d}.000100"}
                body = event_body(event, f"EvShutdown{i}")
                request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                                 headers=sign(SECRET, body))
                assert urllib.request.urlopen(request, timeout=10).status == 200
            fake.wait_for("chat.postMessage", 8)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
        stderr = process.stderr.read()
        assert "finishing the answers in progress" in stderr, stderr
        assert len(fake.calls_to("chat.update")) == 8, stderr
