"""200 signed Slack events from 20 concurrent senders against a real `hrbot serve --http` process.

The bot runs as a subprocess exactly as in production (offline answerer, embedded PostgreSQL started here and
shared through DATABASE_URL), talking to a fake Slack Web API on 127.0.0.1. Each of 20 senders is an employee
asking 10 questions in a row in their DM, sending the next when the previous answer has been posted (a closed
loop, like people chatting); 20 extra deliveries are Slack-style retries (same event_id, X-Slack-Retry-Num).

Reports ack latency (HTTP response), time from sending to the answer's chat.update, lost and duplicate answers.

    python benchmarks/slack_load.py [--senders 20 --per-sender 10 --retries 20] [--settle SECONDS] [--name NAME]

The issue 24 black-box check is 50 DMs from 10 senders, sent either a few seconds after `/healthz` first answers
(`--settle 3`: a deploy, a restart, a new replica) or once the process has settled (`--settle 30`).
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import ServedBot, benchmark_database, stop_database, summary_ms, write_result  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.search.evaluation import load_questions  # noqa: E402
from knowledge.runtime import SAMPLE_RECORDS, Runtime  # noqa: E402
from knowledge.settings import Settings  # noqa: E402
from tests.fakes.slack_api import FakeSlack, event_body  # noqa: E402

SENDERS, PER_SENDER, RETRIES = 20, 10, 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=SENDERS)
    parser.add_argument("--per-sender", type=int, default=PER_SENDER)
    parser.add_argument("--retries", type=int, default=RETRIES)
    parser.add_argument("--settle", type=float, default=0.0, help="seconds to wait after /healthz first answers")
    parser.add_argument("--name", default="slack_load", help="result file name (benchmarks/results/NAME.json)")
    args = parser.parse_args()
    senders, per_sender, retries = args.senders, args.per_sender, args.retries
    url, server = benchmark_database("slack")
    rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=Database(url))
    rt.load_samples()
    rt.db.close()
    users = [r["slack_user_id"] for r in csv.DictReader((SAMPLE_RECORDS / "employees.csv").open())]
    questions = [q.question for q in load_questions()] + ["How much annual leave do I have?"] * 10
    random.seed(5)
    with FakeSlack(users={u: {"email": f"{u.lower()}@x.example", "real_name": u} for u in users}) as fake:
        with ServedBot(url, fake.base_url, port=3900 + random.randrange(90)) as bot:
            healthy_at = time.perf_counter()
            time.sleep(args.settle)
            sent_at: dict[str, float] = {}
            acks: list[float] = []
            statuses: list[int] = []
            lock = threading.Lock()

            done: dict[str, threading.Event] = {}
            watching = threading.Event()

            def watch() -> None:  # one cheap scan of new calls, instead of 20 senders scanning all of them
                seen = 0
                while not watching.is_set():
                    calls = fake.calls[seen:]
                    seen += len(calls)
                    for call in calls:
                        if call.method == "chat.update":
                            done.setdefault(call.args["channel"], threading.Event()).set()
                    time.sleep(0.005)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()

            def wait_answered(channel: str) -> None:
                with lock:
                    event = done.setdefault(channel, threading.Event())
                event.wait(30)

            def sender(s: int) -> None:
                user = users[s % len(users)]
                for i in range(per_sender):
                    channel = f"DLOAD{s:02d}{i:02d}"
                    ts = f"17000{s:02d}{i:03d}.000100"
                    event = {"type": "message", "channel_type": "im", "channel": channel, "user": user,
                             "text": random.choice(questions), "ts": ts}
                    body = event_body(event, f"EvLOAD{s:02d}{i:03d}")
                    with lock:
                        sent_at[channel] = time.perf_counter()
                    status, seconds = bot.post_event(body)
                    with lock:
                        acks.append(seconds)
                        statuses.append(status)
                    if retries and (s * per_sender + i) % max(1, senders * per_sender // retries) == 0:  # Slack retries it
                        status, seconds = bot.post_event(body, {"X-Slack-Retry-Num": "1",
                                                                "X-Slack-Retry-Reason": "http_timeout"})
                        with lock:
                            acks.append(seconds)
                            statuses.append(status)
                    wait_answered(channel)

            started = time.perf_counter()
            with ThreadPoolExecutor(senders) as pool:
                list(pool.map(sender, range(senders)))
            elapsed = time.perf_counter() - started
            time.sleep(2.0)  # late duplicates would show up here
            watching.set()
            updates = fake.calls_to("chat.update")
            first_answer: dict[str, float] = {}
            per_channel: dict[str, int] = {}
            for call in updates:
                channel = call.args["channel"]
                per_channel[channel] = per_channel.get(channel, 0) + 1
                first_answer.setdefault(channel, call.at)
            # Call.at is wall-clock time.time(); convert sends to the same clock
            offset = time.time() - time.perf_counter()
            answer_latency = [first_answer[c] - (sent_at[c] + offset) for c in sent_at if c in first_answer]
            result = {
                "events": len(sent_at), "deliveries": len(acks), "senders": senders,
                "sent_after_healthz_s": round(started - healthy_at, 1),
                "all_acked_200": all(s == 200 for s in statuses),
                "ack": summary_ms(acks), "answer_posted": summary_ms(answer_latency),
                "lost": len(sent_at) - len(first_answer),
                "duplicates": sum(n - 1 for n in per_channel.values()),
                "seconds": round(elapsed, 1), "answers_per_s": round(len(first_answer) / elapsed, 1),
            }
    path = write_result(args.name, result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    stop_database(server)


if __name__ == "__main__":
    main()
