"""The embedded postmaster SIGKILLed 20 times in a row under load, each time with answers in flight (the fault
probe that found the supervisor deadlocking in a fork handler).

`hrbot serve --http` on the embedded default with the sample content, a fake Slack on 127.0.0.1. Each round sends
6 signed DMs at once and kills the postmaster as soon as the first placeholder is posted (answers under way:
searching, embedding, waiting for a connection). Reported: hangs (/healthz silent for 30 s, or /readyz not back
within 120 s, or answers not resolved within 120 s), every answer's fate (answered / kindly refused / never
resolved / resolved twice), how many answers were in flight at each kill, time from the kill to /readyz ready
(p50 / max), and the exit status after SIGTERM at the end.

    python benchmarks/postmaster_kills.py [--rounds 20]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import http_status, percentile, write_result  # noqa: E402
from tests.fakes.slack_api import FakeSlack, event_body, sign  # noqa: E402
from tests.slack_helpers import USERS  # noqa: E402

SECRET = "bench-kills"
HRBOT = str(Path(sys.executable).with_name("hrbot"))
PER_ROUND = 6
HANG = 30.0  # /healthz silent this long: the process is stuck


def _status(url: str, timeout: float = 1.0) -> int:
    return http_status(url, timeout)


def _readyz(base: str) -> dict:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return {}


def _dm(base: str, n: int) -> None:
    event = {"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "user": "U0SAMPLE",
             "text": f"How much annual leave do I have? ({n})", "ts": f"1700004{n:03d}.000100"}
    body = event_body(event, f"EvKill{n:03d}")
    request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                     headers=sign(SECRET, body))
    urllib.request.urlopen(request, timeout=10).read()


def _updates(fake: FakeSlack) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for call in fake.calls_to("chat.update"):
        found.setdefault(call.args["ts"], []).append(call.args.get("text", ""))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    root = Path(tempfile.mkdtemp(prefix="hrbot-bench-kills-"))
    hangs, ready_after, in_flight, notes = 0, [], [], []
    with FakeSlack(users=USERS) as fake:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_", "DATABASE_URL"))},
               "HRBOT_DATA_DIR": str(root), "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": fake.base_url, "PYTHONPATH": str(ROOT)}  # this checkout, not an installed copy
        sample = ROOT / "knowledge" / "sample"
        subprocess.run([HRBOT, "ingest", str(sample / "docs")], env=env, check=True, capture_output=True)
        subprocess.run([HRBOT, "records", "import", *sorted(str(p) for p in (sample / "records").glob("*.csv"))],
                       env=env, check=True, capture_output=True)
        port = 39000 + os.getpid() % 1000
        base = f"http://127.0.0.1:{port}"
        log = open(root / "serve.log", "w")
        process = subprocess.Popen([HRBOT, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                   stdin=subprocess.DEVNULL, stderr=log, text=True)
        exit_code = None
        try:
            while _status(base + "/readyz") != 200:
                if process.poll() is not None:
                    raise SystemExit(f"hrbot serve exited: {(root / 'serve.log').read_text()[-2000:]}")
                time.sleep(0.25)
            sent = 0
            for r in range(rounds):
                posted_before = len(fake.calls_to("chat.postMessage"))
                for _ in range(PER_ROUND):
                    _dm(base, sent)
                    sent += 1
                fake.wait_for("chat.postMessage", posted_before + 1, timeout=30)
                # Answers in flight: this round's questions not resolved yet.
                flying = sent - len(_updates(fake))
                pid = int((root / "pgdata" / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
                killed = time.monotonic()
                in_flight.append(flying)
                silent_since, back = None, None
                while back is None:
                    now = time.monotonic()
                    status = _status(base + "/readyz", timeout=2)
                    if status == 200:
                        back = time.monotonic() - killed
                        break
                    if _status(base + "/healthz", timeout=2) == 0:
                        silent_since = silent_since or now
                        if now - silent_since > HANG:
                            break
                    else:
                        silent_since = None
                    if now - killed > 120:
                        break
                    time.sleep(0.05)
                if back is None:
                    hangs += 1
                    notes.append(f"round {r + 1}: not ready again ({'silent' if silent_since else 'not ready'})")
                    break
                ready_after.append(back)
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and len(_updates(fake)) < sent:
                    time.sleep(0.1)
                if len(_updates(fake)) < sent:
                    hangs += 1
                    notes.append(f"round {r + 1}: {sent - len(_updates(fake))} answers not resolved in 120 s")
                    break
                print(f"round {r + 1}: {flying} in flight at the kill, ready again after {back:.2f} s", flush=True)
            restarts = _readyz(base).get("database_restarts")
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                exit_code = process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                hangs += 1
                notes.append("SIGTERM ignored for 90 s")
                process.kill()
                exit_code = process.wait()
            log.close()
        updates = _updates(fake)
        placeholders = len(fake.calls_to("chat.postMessage"))
    refused = sum(1 for texts in updates.values() if any("reach" in t.lower() for t in texts))
    stderr = (root / "serve.log").read_text()
    result = {
        "rounds": rounds, "rounds_completed": len(ready_after), "questions": sent, "hangs": hangs,
        "placeholders": placeholders, "answered": len(updates) - refused, "kindly_refused": refused,
        "never_resolved": sent - len(updates), "resolved_twice": sum(1 for t in updates.values() if len(t) > 1),
        "in_flight_at_kill": {"total": sum(in_flight), "min": min(in_flight, default=0),
                              "max": max(in_flight, default=0)},
        "kill_to_ready_s": {"p50": round(statistics.median(ready_after), 2) if ready_after else None,
                            "p95": round(percentile(ready_after, 95), 2) if ready_after else None,
                            "max": round(max(ready_after), 2) if ready_after else None},
        "database_restarts": restarts, "exit_code_after_sigterm": exit_code,
        "false_running_again": stderr.count("running again") - (restarts or 0),
        "fatal_errors": stderr.count("Fatal Python error") + stderr.count("terminate called"),
        "notes": notes, "server_log": str(root),
    }
    path = write_result("postmaster_kills", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
