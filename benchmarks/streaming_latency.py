"""Streamed answers (issue 26 item 1): how soon the model's first words reach Slack.

The bot (in process, HTTP mode, the sample company on a throwaway embedded database) answers signed DMs with a
fake OpenAI-compatible chat model that streams its answer one word per server-sent event, CHUNK_DELAY apart, into
a fake Slack that takes chat.startStream / appendStream / stopStream. For each answer:

- first_words: from the fake model writing its first word to the fake Slack receiving the first appended text
  (target: 300 ms);
- request_to_words: from the chat request reaching the model to the first words in Slack, streamed, and the same
  back to back with streaming refused by the workspace (the placeholder then chat.update path: the first words
  are the whole answer);
- request_to_whole_answer: to the stream's stop (or the update);
- appends per answer (Slack's rate limits: at most one per bot.streaming.APPEND_INTERVAL).
The fake model takes as long to write a whole (unstreamed) answer as to stream it: CHUNK_DELAY per word.

    python benchmarks/streaming_latency.py [--answers 30] [--chunk-delay 0.03]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import benchmark_database, stop_database, summary_ms, write_result  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.runtime import Runtime  # noqa: E402
from knowledge.search.evaluation import load_questions  # noqa: E402
from knowledge.settings import Settings  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.slack_helpers import USERS, SlackHarness  # noqa: E402

ANSWERS, CHUNK_DELAY = 30, 0.03


def _wait(fake: FakeSlack, method: str, count: int, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while len(fake.calls_to(method)) < count:
        if time.time() > deadline:
            raise RuntimeError(f"no {method} after {timeout} s")
        time.sleep(0.005)


def run(rt: Runtime, questions: list[str], chunk_delay: float, refuse: bool) -> dict:
    """Answer each question in turn; times as the fakes recorded them (one process, one clock)."""
    with FakeOpenAI(chunk_delay=chunk_delay) as llm, FakeSlack(users=USERS) as fake:
        if refuse:
            fake.refuse_streaming("unknown_method")
        harness = SlackHarness(rt, fake, openai_base_url=llm.base_url, chat_timeout=20.0)
        first_words, request_to_words, appends, whole = [], [], [], []
        try:
            for i, question in enumerate(questions):
                done = "chat.update" if refuse else "chat.stopStream"
                before = len(fake.calls_to(done))
                calls_before, asked_before = len(fake.calls), len(llm.chat_arrivals)
                harness.dm("U0SAMPLE", question, ts=f"17000{i:05d}.000100")
                _wait(fake, done, before + 1)
                calls = fake.calls[calls_before:]
                if len(llm.chat_arrivals) == asked_before:
                    continue  # answered without the model (not found in the documents): nothing to stream
                ended = next(c.at for c in calls if c.method == done)
                whole.append(ended - llm.chat_arrivals[-1])
                if refuse:
                    shown = next(c.at for c in calls if c.method == "chat.update")
                else:
                    streamed = [c for c in calls if c.method == "chat.appendStream"]
                    appends.append(len(streamed))
                    if not streamed:  # the whole answer went with the stop (a very short one)
                        continue
                    shown = streamed[0].at
                    first_words.append(shown - llm.first_tokens[-1])
                request_to_words.append(shown - llm.chat_arrivals[-1])
        finally:
            harness.close()
    result = {"request_to_words": summary_ms(request_to_words), "request_to_whole_answer": summary_ms(whole)}
    if not refuse:
        result["first_words"] = summary_ms(first_words)
        result["appends_per_answer"] = {"min": min(appends), "max": max(appends),
                                        "mean": round(sum(appends) / len(appends), 1)}
        result["within_300_ms"] = sum(s <= 0.3 for s in first_words)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=ANSWERS)
    parser.add_argument("--chunk-delay", type=float, default=CHUNK_DELAY)
    parser.add_argument("--name", default="streaming_latency", help="the results file's name")
    parser.add_argument("--note", default="", help="how it was run (load, nice), kept with the figures")
    args = parser.parse_args()
    url, server = benchmark_database("streaming")
    db = Database(url)
    try:
        rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=db)  # whatever the shell has set
        rt.load_samples()
        pool = [q.question for q in load_questions()]
        questions = (pool * (args.answers // len(pool) + 1))[:args.answers]
        streamed = run(rt, questions, args.chunk_delay, refuse=False)
        refused = run(rt, questions, args.chunk_delay, refuse=True)
    finally:
        db.close()
        stop_database(server)
    path = write_result(args.name, {
        "answers": args.answers, "chunk_delay_s": args.chunk_delay, "streamed": streamed,
        "placeholder_and_update": refused, "note": args.note or "one process"})
    print(path.read_text())


if __name__ == "__main__":
    main()
