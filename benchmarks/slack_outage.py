"""A hanging Slack, measured (the operator's fault probe): `hrbot serve --http` with the sample content and a fake
Slack on 127.0.0.1 whose Web API holds every request for OUTAGE seconds (clients time out: HRBOT_SLACK_TIMEOUT,
10 s by default), while QUESTIONS signed DMs arrive at 3 a second; then Slack recovers.

Reported: how the questions ended (answered / failed / given up and told to ask again / never resolved), answers
delivered twice, placeholders posted twice, acks, and the time from Slack's recovery to the last answer.

    python benchmarks/slack_outage.py              # held requests have no effect (answered 503 at the end)
    python benchmarks/slack_outage.py --processed  # Slack did the work of held requests, answers never got back
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (benchmark_database, http_status, machine, stop_database, summary_ms,  # noqa: E402
                                write_result)
from tests.fakes.slack_api import FakeSlack, event_body, sign  # noqa: E402
from tests.slack_helpers import USERS  # noqa: E402

SECRET = "bench-slack-outage"
HRBOT = str(Path(sys.executable).with_name("hrbot"))
QUESTIONS, RATE, OUTAGE = 21, 3.0, 100.0
THINKING_PREFIX = "Looking that up"


def _status(url: str, timeout: float = 2.0) -> int:
    return http_status(url, timeout)


def _states(url: str) -> Counter:
    import psycopg

    with psycopg.connect(url) as conn:
        return Counter(dict(conn.execute("SELECT state, count(*) FROM processed_events WHERE event_id LIKE "
                                         "'EvOutage%' GROUP BY state").fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processed", action="store_true", help="held requests take effect when Slack recovers")
    parser.add_argument("--outage", type=float, default=OUTAGE)
    args = parser.parse_args()
    url, server = benchmark_database("slack_outage")
    root = Path(tempfile.mkdtemp(prefix="hrbot-bench-slack-outage-"))
    try:
        with FakeSlack(users=USERS) as fake:
            env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_", "DATABASE_URL"))},
                   "DATABASE_URL": url, "HRBOT_DATA_DIR": str(root), "SLACK_BOT_TOKEN": "xoxb-bench",
                   "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.base_url, "PYTHONPATH": str(ROOT)}
            subprocess.run([HRBOT, "ingest", str(ROOT / "knowledge" / "sample" / "docs")], env=env, check=True,
                           capture_output=True)
            subprocess.run([HRBOT, "records", "import", *sorted(
                str(p) for p in (ROOT / "knowledge" / "sample" / "records").glob("*.csv"))], env=env, check=True,
                capture_output=True)
            port = 39000 + os.getpid() % 1000
            base = f"http://127.0.0.1:{port}"
            log = open(root / "serve.log", "w")
            process = subprocess.Popen([HRBOT, "serve", "--http", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-worker"], env=env, stdin=subprocess.DEVNULL, stderr=log)
            try:
                while _status(base + "/readyz") != 200:
                    if process.poll() is not None:
                        raise SystemExit((root / "serve.log").read_text())
                    time.sleep(0.25)
                fake.keep_threads = True  # the bot can see its own posts in a thread, as in Slack
                fake.hang(args.outage, processed=args.processed)
                started = time.time()
                recovered = fake._outage[0]  # the fake's own clock (time.time) for when Slack answers again
                acks, asked = [], {}
                for i in range(QUESTIONS):
                    ts = f"1700004{i:03d}.000100"
                    event = {"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "user": "U0SAMPLE",
                             "text": f"How much annual leave do I have? ({i})", "ts": ts}
                    body = event_body(event, f"EvOutage{i:03d}")
                    request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                                     headers=sign(SECRET, body))
                    sent = time.perf_counter()
                    urllib.request.urlopen(request, timeout=10).read()
                    acks.append(time.perf_counter() - sent)
                    asked[ts] = i
                    time.sleep(1 / RATE)
                deadline = recovered + 600
                while time.time() < deadline and _states(url).get("answering", 0) > 0:
                    time.sleep(0.5)
                settled = time.time()
                time.sleep(12)  # a notice round (every 10 s) after the last event settled
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
                log.close()
            states = _states(url)
        placeholders = Counter(c.args.get("thread_ts") for c in fake.calls_to("chat.postMessage")
                               if str(c.args.get("text", "")).startswith(THINKING_PREFIX))
        # A placeholder's ts is what chat.postMessage answered; chat.update names it.
        of_placeholder = {c.result["ts"]: c.args.get("thread_ts") for c in fake.calls_to("chat.postMessage")
                          if c.result and str(c.args.get("text", "")).startswith(THINKING_PREFIX)}
        answers: Counter = Counter()
        last_answer = None
        for call in fake.calls_to("chat.update"):
            question = of_placeholder.get(call.args["ts"])
            answers[question] += 1
            last_answer = max(last_answer or 0, call.at)
        for call in fake.calls_to("chat.postMessage"):
            text = str(call.args.get("text", ""))
            if not text.startswith(THINKING_PREFIX) and "Slack was unreachable" not in text:
                answers[call.args.get("thread_ts")] += 1
                last_answer = max(last_answer or 0, call.at)
        notices = Counter(c.args.get("thread_ts") for c in fake.calls
                          if "Slack was unreachable" in str(c.args.get("text", "")))
        result = {
            "questions": QUESTIONS, "outage_s": args.outage, "held_requests_processed": args.processed,
            "events": dict(states),
            "answered": sum(1 for ts in asked if answers[ts] >= 1),
            "answered_twice": sum(1 for ts in asked if answers[ts] > 1),
            "told_to_ask_again": sum(1 for ts in asked if notices[ts] >= 1),
            "told_twice": sum(1 for ts in asked if notices[ts] > 1),
            "never_resolved": sum(1 for ts in asked if answers[ts] == 0 and notices[ts] == 0),
            "placeholders_posted_twice": sum(1 for ts in asked if placeholders[ts] > 1),
            "requests_held": len(fake.held),
            "recovery_to_last_answer_s": round(last_answer - recovered, 1) if last_answer else None,
            "answers_before_recovery": sum(1 for c in fake.calls_to("chat.update") if c.at < recovered),
            "outage_start_to_settled_s": round(settled - started, 1),
            "acks": summary_ms(acks), "machine": machine(),
        }
    finally:
        stop_database(server)
    path = write_result("slack_outage" + ("_processed" if args.processed else ""), result)
    print(result)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
