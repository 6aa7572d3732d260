"""Whole offline answers at 100,000 chunks, and the serving process's memory (issue 24).

The knowledge base: the sample company ingested as usual (real model, real sentences), then filled to --chunks with
copies of its passages (each passage's vector plus noise, so the HNSW index holds 100,000 distinct points in the
real model's space; their stored sentences copied with them where the schema has them). Then:
- in this process, `hrbot ask`'s AnswerService answers the evaluation and personal questions: a fresh service's
  first answers, then warm rounds (p50/p95 of the whole answer and its parts);
- a real `hrbot serve --http` answers 50 DMs from 10 senders right after /healthz first answers, through the fake
  Slack Web API: answer latency, and the serving process's resident memory at /healthz and after (VmRSS, VmHWM).

    python benchmarks/answer_at_scale.py [--chunks 100000] [--rounds 2] [--keep DIR] [--name answer_at_scale]
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

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (ServedBot, benchmark_database, percentile, stop_database, summary_ms,  # noqa: E402
                                write_result)
from knowledge.answering.answers import Asker  # noqa: E402
from knowledge.answering.chain import AnswerService  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.runtime import SAMPLE_RECORDS, Runtime  # noqa: E402
from knowledge.search.evaluation import load_questions  # noqa: E402
from knowledge.settings import Settings  # noqa: E402
from tests.fakes.slack_api import FakeSlack, event_body  # noqa: E402

PERSONAL = ["How much annual leave do I have?", "how many holiday days have I got left this year?",
            "when is the next bank holiday?"]
NOISE = 0.02  # per dimension: a copy's cosine to its passage ~0.87


def fill(url: str, target: int, rng: np.random.Generator) -> dict:
    """Copies of the stored passages until there are `target` chunks; indexes rebuilt once at the end."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        register_vector(conn)
        conn.execute("SET maintenance_work_mem = '2GB'")
        sample = conn.execute("SELECT chunk_id, section, text, embedding, embedding_ml FROM chunks "
                              "ORDER BY chunk_id").fetchall()
        have = len(sample)
        conn.execute("DROP INDEX IF EXISTS chunks_embedding_hnsw")
        conn.execute("DROP INDEX IF EXISTS chunks_embedding_ml_hnsw")
        per_doc, n = 100, max(0, target - have)
        doc_ids = [conn.execute(
            "INSERT INTO documents (source, title, media_type, sha256, version, bytes, chunk_count) "
            "VALUES (%s, %s, 'text/markdown', %s, 1, 0, %s) RETURNING document_id",
            [f"filler-{d:05d}.md", f"Filler policy {d}", f"{d:064x}", per_doc]).fetchone()[0]
            for d in range((n + per_doc - 1) // per_doc)]
        conn.execute("CREATE TEMP TABLE copied (document_id bigint, ordinal int, source bigint)")
        with conn.cursor() as cur, cur.copy("COPY chunks (document_id, ordinal, section, text, embedding, embedding_ml) "
                                            "FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int4", "text", "text", "vector", "vector"])
            mapping = []
            for i in range(n):
                chunk_id, section, text, vector, ml = sample[i % have]
                noisy = vector.to_numpy() + rng.normal(scale=NOISE, size=len(vector.to_numpy())).astype(np.float32)
                noisy_ml = None
                if ml is not None:
                    noisy_ml = ml.to_numpy() + rng.normal(scale=NOISE, size=512).astype(np.float32)
                    noisy_ml /= np.linalg.norm(noisy_ml)
                copy.write_row((doc_ids[i // per_doc], i % per_doc, section, text, noisy / np.linalg.norm(noisy),
                                noisy_ml))
                mapping.append((doc_ids[i // per_doc], i % per_doc, chunk_id))
        with conn.cursor() as cur, cur.copy("COPY copied FROM STDIN") as copy:
            for row in mapping:
                copy.write_row(row)
        loaded = time.perf_counter()
        sentences = 0
        if conn.execute("SELECT to_regclass('passage_sentences')").fetchone()[0]:
            sentences = conn.execute(
                "INSERT INTO passage_sentences (chunk_id, position, text, page, embedding, embedding_ml) "
                "SELECT c.chunk_id, s.position, s.text, s.page, s.embedding, s.embedding_ml "
                "FROM copied m JOIN chunks c USING (document_id, ordinal) "
                "JOIN passage_sentences s ON s.chunk_id = m.source").rowcount
        copied = time.perf_counter()
        conn.execute("CREATE INDEX chunks_embedding_hnsw ON chunks USING hnsw (embedding vector_cosine_ops)")
        conn.execute("CREATE INDEX chunks_embedding_ml_hnsw ON chunks USING hnsw (embedding_ml vector_cosine_ops)")
        conn.execute("ANALYZE")
        indexed = time.perf_counter()
        total = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM passage_sentences").fetchone()[0] if sentences else 0
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    return {"chunks": total, "sentences": stored, "database_size": size,
            "chunks_copied_s": round(loaded - started, 1), "sentences_copied_s": round(copied - loaded, 1),
            "hnsw_built_s": round(indexed - copied, 1)}


def memory(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    found = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith("Vm")}
    return {"rss_mb": round(found["VmRSS"] / 1024), "peak_rss_mb": round(found["VmHWM"] / 1024)}


def in_process(url: str, settings: Settings, users: list[str], rounds: int) -> dict:
    rt = Runtime(settings, db=Database(url))
    started = time.perf_counter()
    rt.embeddings  # noqa: B018 - the model, loaded before the clock starts as `hrbot serve` does
    load_s = time.perf_counter() - started
    service = AnswerService(rt.searcher, rt.records, rt.settings, rt.profile)
    questions = [q.question for q in load_questions()] + PERSONAL * 3
    first = [service.answer(q, Asker(users[i % len(users)])).timings["total"] / 1000
             for i, q in enumerate(questions[:20])]
    totals, parts = [], {}
    for _ in range(rounds):
        for i, question in enumerate(questions):
            answer = service.answer(question, Asker(users[i % len(users)]))
            totals.append(answer.timings["total"] / 1000)
            for name, ms in answer.timings.items():
                if name != "total":
                    parts.setdefault(name, []).append(ms)
    rt.db.close()
    return {"model_load_s": round(load_s, 2), "first_20_answers": summary_ms(first), "warm": summary_ms(totals),
            "parts_ms": {n: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)}
                         for n, v in parts.items()}}


def served(url: str, users: list[str], senders: int = 10, per_sender: int = 5) -> dict:
    questions = [q.question for q in load_questions()]
    random.seed(5)
    with FakeSlack(users={u: {"email": f"{u.lower()}@x.example", "real_name": u} for u in users}) as fake:
        with ServedBot(url, fake.base_url, port=3990 + random.randrange(9)) as bot:
            at_healthz = memory(bot.process.pid)
            sent_at, answered, lock = {}, {}, threading.Lock()

            def sender(s: int) -> None:
                for i in range(per_sender):
                    channel = f"DSCALE{s:02d}{i:02d}"
                    event = {"type": "message", "channel_type": "im", "channel": channel, "user": users[s % len(users)],
                             "text": random.choice(questions), "ts": f"17100{s:02d}{i:03d}.000100"}
                    with lock:
                        sent_at[channel] = time.time()
                    bot.post_event(event_body(event, f"EvSCALE{s:02d}{i:03d}"))
                    deadline = time.time() + 120
                    while time.time() < deadline:
                        if any(c.method == "chat.update" and c.args.get("channel") == channel for c in fake.calls):
                            break
                        time.sleep(0.02)

            started = time.perf_counter()
            with ThreadPoolExecutor(senders) as pool:
                list(pool.map(sender, range(senders)))
            elapsed = time.perf_counter() - started
            for call in fake.calls_to("chat.update"):
                answered.setdefault(call.args["channel"], call.at)
            after = memory(bot.process.pid)
    latency = [answered[c] - sent_at[c] for c in sent_at if c in answered]
    return {"dms": len(sent_at), "answered": len(latency), "answer_posted": summary_ms(latency),
            "seconds": round(elapsed, 1), "memory_at_healthz": at_healthz, "memory_after": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", default=None, help="data directory to keep the embedded server in")
    parser.add_argument("--name", default="answer_at_scale")
    args = parser.parse_args()
    url, server = benchmark_database("scale", args.keep)
    settings = Settings.from_env(environ={}, dotenv_path=None)  # offline answerer, whatever the shell has set
    rt = Runtime(settings, db=Database(url))
    rt.load_samples()
    rt.db.close()
    built = fill(url, args.chunks, np.random.default_rng(7))
    print(json.dumps(built), flush=True)
    users = [r["slack_user_id"] for r in csv.DictReader((SAMPLE_RECORDS / "employees.csv").open())]
    result = {"knowledge_base": built, "in_process": in_process(url, settings, users, args.rounds)}
    print(json.dumps(result["in_process"]), flush=True)
    result["served_right_after_start"] = served(url, users)
    path = write_result(args.name, result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    if not args.keep:
        stop_database(server)


if __name__ == "__main__":
    main()
