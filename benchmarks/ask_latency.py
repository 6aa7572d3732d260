"""`hrbot ask` latency with the offline answerer on the sample content: warm (model loaded, earlier answers given)
and, apart, a process's first answers. The sentence vectors the re-ranker and the quotes use are stored with the
passages (issue 24), so there is no warm-up: the first answers should cost what the later ones do.

Runs the evaluation questions plus personal questions as every sample employee through the same
AnswerService `hrbot ask` uses, and reports p50/p95 of the whole answer and its parts
(embed, retrieve, records, facts, answer).

    python benchmarks/ask_latency.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, percentile, summary_ms, write_result  # noqa: E402
from knowledge.answering.answers import Asker  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.search.evaluation import load_questions  # noqa: E402
from knowledge.runtime import SAMPLE_RECORDS, Runtime  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

PERSONAL = ["How much annual leave do I have?", "how many holiday days have I got left this year?",
            "do I have any leave booked?", "when is the next bank holiday?", "how many volunteering days do I have?"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url, server = benchmark_database("ask")
    settings = Settings.from_env(environ={}, dotenv_path=None)  # offline answerer, whatever the shell has set
    rt = Runtime(settings, db=Database(url))
    t0 = time.perf_counter()
    rt.embeddings
    model_load = time.perf_counter() - t0
    rt.load_samples()
    users = [row["slack_user_id"] for row in csv.DictReader((SAMPLE_RECORDS / "employees.csv").open())]
    questions = [q.question for q in load_questions()] + PERSONAL * 4
    cold = []
    for i, q in enumerate(questions):  # a process's first answers (a one-shot `hrbot ask`, a fresh replica)
        cold.append(rt.answers.answer(q, Asker(users[i % len(users)])).timings["total"] / 1000)
    for q in questions[:10]:  # warm up caches and prepared statements
        rt.answers.answer(q, Asker(users[0]))
    totals, parts = [], {}
    for _ in range(args.rounds):
        for i, question in enumerate(questions):
            answer = rt.answers.answer(question, Asker(users[i % len(users)]))
            totals.append(answer.timings["total"] / 1000)
            for name, ms in answer.timings.items():
                if name != "total":
                    parts.setdefault(name, []).append(ms)
    result = {
        "answers": len(totals), "model_load_s": round(model_load, 2), "total": summary_ms(totals),
        "cold_first_answers": summary_ms(cold),
        "parts_ms": {name: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)}
                     for name, v in parts.items()},
    }
    path = write_result("ask_latency", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    rt.db.close()
    stop_database(server)


if __name__ == "__main__":
    main()
