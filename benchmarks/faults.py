"""Fault injection, measured (issue 12 item 5): `hrbot serve` on the embedded default with the sample content,
a fake Slack on 127.0.0.1, signed DMs at 3 per second; the embedded PostgreSQL's postmaster is SIGKILLed (as an
out-of-memory kill would) after the 10th of 40 questions.

Reported: time from the kill until /readyz says ready again, how each question ended (answered / kindly told the
database is unreachable / never resolved / resolved twice), and the acks' latency during the outage.

    python benchmarks/faults.py
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import http_status, summary_ms, write_result  # noqa: E402
from tests.fakes.slack_api import FakeSlack, event_body, sign  # noqa: E402
from tests.slack_helpers import USERS  # noqa: E402

SECRET = "bench-faults"
HRBOT = str(Path(sys.executable).with_name("hrbot"))
QUESTIONS, KILL_AT, RATE = 40, 10, 3.0


def _status(url: str, timeout: float = 1.0) -> int:
    return http_status(url, timeout)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="hrbot-bench-faults-"))
    with FakeSlack(users=USERS) as fake:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_", "DATABASE_URL"))},
               "HRBOT_DATA_DIR": str(root), "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": fake.base_url}
        subprocess.run([HRBOT, "ingest", str(Path(__file__).resolve().parents[1] / "knowledge" / "sample" / "docs")],
                       env=env, check=True, capture_output=True)
        subprocess.run([HRBOT, "records", "import", *sorted(
            str(p) for p in (Path(__file__).resolve().parents[1] / "knowledge" / "sample" / "records").glob("*.csv"))],
            env=env, check=True, capture_output=True)
        port = 38000 + os.getpid() % 1000
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen([HRBOT, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                   stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while _status(base + "/readyz") != 200:
                time.sleep(0.25)
            acks, outage_acks, killed_at, ready_again = [], [], None, None
            for i in range(QUESTIONS):
                if i == KILL_AT:
                    pid = int((root / "pgdata" / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
                    killed_at = time.monotonic()
                event = {"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "user": "U0SAMPLE",
                         "text": "How much annual leave do I have?", "ts": f"1700003{i:03d}.000100"}
                body = event_body(event, f"EvBench{i:03d}")
                request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                                 headers=sign(SECRET, body))
                started = time.perf_counter()
                urllib.request.urlopen(request, timeout=10).read()
                took = time.perf_counter() - started
                acks.append(took)
                if killed_at is not None and ready_again is None:
                    outage_acks.append(took)
                    if _status(base + "/readyz") == 200:
                        ready_again = time.monotonic()
                time.sleep(1 / RATE)
            while ready_again is None and time.monotonic() - killed_at < 120:
                if _status(base + "/readyz") == 200:
                    ready_again = time.monotonic()
                time.sleep(0.1)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len({c.args["ts"] for c in fake.calls_to("chat.update")}) < QUESTIONS:
                time.sleep(0.25)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    updates: dict[str, list[str]] = {}
    for call in fake.calls_to("chat.update"):
        updates.setdefault(call.args["ts"], []).append(call.args.get("text", ""))
    kind = sum(1 for texts in updates.values() if any("reach" in t.lower() for t in texts))
    result = {
        "questions": QUESTIONS, "killed_after": KILL_AT,
        "kill_to_ready_s": round(ready_again - killed_at, 2) if ready_again else None,
        "answered": len(updates) - kind, "kindly_refused": kind,
        "unresolved": QUESTIONS - len(updates), "resolved_twice": sum(1 for t in updates.values() if len(t) > 1),
        "acks": summary_ms(acks), "acks_during_outage": summary_ms(outage_acks) if outage_acks else None,
    }
    path = write_result("faults", result)
    print(result)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
