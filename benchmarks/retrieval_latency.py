"""Hybrid retrieval at 100,000 chunks: p50/p95 latency of top-10 hybrid search (query embedding excluded) and
HNSW recall@10 against exact search.

Corpus: synthetic but embedding-like. 384-dimensional vectors in 400 clusters (cluster centre + noise,
normalised, so neighbours are close the way sentence embeddings are); chunk texts are ~120 real words drawn
from the sentences of one section of the sample HR documents per cluster, so full-text search sees the word
distribution of real policies. Queries: a cluster's centre plus noise, with the words of an evaluation question
or a span of that cluster's text.

Each chunk also gets --sentences stored sentences (issue 24: the search reads the candidates' sentence vectors in
the same statement), their vectors near the chunk's, so the statement does the work it does in the product.

    python benchmarks/retrieval_latency.py [--chunks 100000] [--queries 300] [--sentences 4] [--keep DIR]
    python benchmarks/retrieval_latency.py --chunks 1000000 --name retrieval_latency_1m   # the SQL at 1M chunks
    python benchmarks/retrieval_latency.py --chunks 20000 --scheduled 20   # 20 documents with a later version

--scheduled N (issue 26, policy versions): the first N synthetic documents get a second version, in force from a
day a year ahead, holding the second half of their chunks: searches (as of today) must leave those out, and recall
is measured against exact search over the chunks in force.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from pgvector import HalfVector
from pgvector.psycopg import register_vector

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, summary_ms, write_result  # noqa: E402
from knowledge.documents.chunking import split_sentences  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.search.evaluation import load_questions  # noqa: E402
from knowledge.documents.loaders import parse  # noqa: E402
from knowledge.search.retrieval import HybridSearcher  # noqa: E402
from knowledge.runtime import SAMPLE_DOCS  # noqa: E402
from knowledge.documents.store import WORD  # noqa: E402

DIM = 384
CLUSTERS = 400
NOISE = 0.055  # per-dimension noise: within-cluster cosine ~0.55, like related passages


class SyntheticSpace:
    """Stands in for the embedding model: vectors are given, never computed."""
    model_name = "synthetic-clustered-384"
    dimension = DIM

    def embed_query(self, text):  # pragma: no cover - the benchmark always passes vectors
        raise RuntimeError("query embedding is excluded from this benchmark")


def section_sentences() -> list[list[str]]:
    pools: dict[tuple, list[str]] = {}
    for path in sorted(SAMPLE_DOCS.iterdir()):
        doc = parse(path.name, path.read_bytes())
        for block in doc.blocks:
            pools.setdefault((path.name, block.section), []).extend(split_sentences(block.text))
    return [s for s in pools.values() if len(" ".join(s).split()) >= 40]


def build(url: str, n: int, rng: np.random.Generator, sentences: int = 0) -> tuple:
    pools = section_sentences()
    centres = rng.normal(size=(CLUSTERS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, CLUSTERS, size=n)
    vectors = centres[labels] + rng.normal(scale=NOISE, size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pool_of = [int(i) for i in rng.integers(0, len(pools), size=CLUSTERS)]
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        register_vector(conn)
        # The graph must fit in memory while it is built, or the build slows by an order of magnitude
        conn.execute(f"SET maintenance_work_mem = '{max(2, n * 5 // 1_000_000 + 1)}GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        conn.execute("TRUNCATE documents, chunks, lexicon, embedding_space RESTART IDENTITY CASCADE")
        conn.execute("DROP INDEX IF EXISTS chunks_embedding_hnsw")
        conn.execute(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({DIM})")
        conn.execute("INSERT INTO embedding_space (model, dimension) VALUES (%s, %s)", [SyntheticSpace.model_name, DIM])
        per_doc = 100
        doc_ids = [conn.execute(
            "INSERT INTO documents (source, title, media_type, sha256, version, bytes, chunk_count) "
            "VALUES (%s, %s, 'text/markdown', %s, 1, 0, %s) RETURNING document_id",
            [f"synthetic-{d:05d}.md", f"Synthetic policy {d}", f"{d:064x}", per_doc]).fetchone()[0]
            for d in range((n + per_doc - 1) // per_doc)]
        words: set[str] = set()
        with conn.cursor() as cur, cur.copy(
                "COPY chunks (document_id, ordinal, section, text, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int4", "text", "text", "vector"])
            for i in range(n):
                pool = pools[pool_of[labels[i]]]
                start = int(rng.integers(0, len(pool)))
                text, count = [], 0
                while count < 120:
                    sentence = pool[(start + len(text)) % len(pool)]
                    text.append(sentence)
                    count += len(sentence.split())
                body = " ".join(text)
                if i % 50 == 0:
                    words.update(WORD.findall(body.lower()))
                copy.write_row((doc_ids[i // per_doc], i % per_doc, f"Topic {labels[i]}", body, vectors[i]))
        conn.execute("INSERT INTO lexicon (word) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", [sorted(words)])
        loaded = time.perf_counter()
        if sentences:
            store_sentences(conn, vectors, sentences, rng)
        copied = time.perf_counter()
        conn.execute("CREATE INDEX chunks_embedding_hnsw ON chunks USING hnsw (embedding vector_cosine_ops)")
        conn.execute("ANALYZE")
        indexed = time.perf_counter()
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        index_size = conn.execute("SELECT pg_relation_size('chunks_embedding_hnsw')").fetchone()[0]
    built = {"chunks_copied_s": round(loaded - started, 1), "sentences_copied_s": round(copied - loaded, 1),
             "hnsw_built_s": round(indexed - copied, 1), "database_mb": size // 2**20, "hnsw_index_mb": index_size // 2**20}
    print(f"loaded {n} chunks: {built}", flush=True)
    return vectors, labels, pools, pool_of, built


def store_sentences(conn, vectors: np.ndarray, per_chunk: int, rng: np.random.Generator) -> None:
    """per_chunk sentences a chunk, each vector its chunk's plus noise (a sentence is near its passage), as halfvec
    like the product stores them; the text is a placeholder of a sentence's length (only vectors are scored)."""
    conn.execute(f"ALTER TABLE passage_sentences ALTER COLUMN embedding TYPE halfvec({DIM})")
    with conn.cursor() as cur, cur.copy(
            "COPY passage_sentences (chunk_id, position, text, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "int4", "text", "halfvec"])
        for start in range(0, len(vectors), 10_000):
            block = vectors[start:start + 10_000]
            for position in range(per_chunk):
                noisy = block + rng.normal(scale=NOISE, size=block.shape).astype(np.float32)
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                for offset, vector in enumerate(noisy):
                    copy.write_row((start + offset + 1, position, f"Sentence {position} of passage {start + offset + 1}.",
                                    HalfVector(vector)))


def schedule_versions(url: str, documents: int, per_doc: int = 100) -> set[int]:
    """The first `documents` documents get a version in force a year from now holding their chunks from ordinal
    per_doc // 2 on; returns those chunks' ids (out of force today)."""
    moved: set[int] = set()
    with psycopg.connect(url) as conn:
        for d in range(1, documents + 1):
            new = conn.execute(
                "INSERT INTO documents (source, title, media_type, sha256, version, bytes, chunk_count, effective_from) "
                "SELECT source, title, media_type, sha256 || '-v2', 2, 0, %s, current_date + 365 FROM documents "
                "WHERE document_id = %s RETURNING document_id", [per_doc // 2, d]).fetchone()[0]
            moved.update(r[0] for r in conn.execute(
                "UPDATE chunks SET document_id = %s WHERE document_id = %s AND ordinal >= %s RETURNING chunk_id",
                [new, d, per_doc // 2]))
        conn.execute("ANALYZE")
    return moved


def spelling_timings(db: Database, texts: list[str]) -> dict[str, list[float]]:
    """The misspelt-word correction's cost per question (knowledge/search/spelling.py), the one query it adds
    before the embedding: as the product runs it (words the local model knows are not looked up) and with no
    vocabulary (an embeddings API: every word of four letters or more is looked up in the lexicon)."""
    from knowledge.search.minilm import shipped_model_dir
    from knowledge.search.spelling import Speller, model_vocabulary

    spellers = {"spelling, model vocabulary": Speller(db, model_vocabulary(shipped_model_dir())),
                "spelling, no vocabulary": Speller(db)}
    found: dict[str, list[float]] = {}
    for name, speller in spellers.items():
        for text in texts[:30]:
            speller.corrections(text)
        found[name] = []
        for text in texts:
            t0 = time.perf_counter()
            speller.corrections(text)
            found[name].append(time.perf_counter() - t0)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef-search", type=int, default=100)
    parser.add_argument("--sentences", type=int, default=4, help="stored sentences a chunk (0: none, as before issue 24)")
    parser.add_argument("--name", default="retrieval_latency", help="the result file's name")
    parser.add_argument("--keep", default=None, help="data directory to keep the embedded server in")
    parser.add_argument("--scheduled", type=int, default=0, help="documents given a version in force a year ahead")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    url, server = benchmark_database("retrieval", args.keep)
    vectors, labels, pools, pool_of, built = build(url, args.chunks, rng, args.sentences)
    out_of_force = schedule_versions(url, args.scheduled) if args.scheduled else set()
    in_force = np.ones(len(vectors), dtype=bool)
    in_force[[i - 1 for i in out_of_force]] = False
    db = Database(url, search_ef=args.ef_search)
    searcher = HybridSearcher(db, SyntheticSpace())

    questions = [q.question for q in load_questions()]
    random.seed(11)
    queries = []
    for i in range(args.queries):
        target = int(rng.integers(0, args.chunks))
        vector = vectors[target] + rng.normal(scale=NOISE, size=DIM).astype(np.float32)
        vector /= np.linalg.norm(vector)
        if i % 2:
            text = random.choice(questions)
        else:
            words = " ".join(pools[pool_of[labels[target]]]).split()
            start = random.randrange(max(1, len(words) - 8))
            text = " ".join(words[start:start + random.randint(4, 8)])
        queries.append((text, vector))

    for text, vector in queries[:30]:  # warm the caches and the prepared statements
        searcher.search(text, args.k, embedding=vector)
    timings = {"hybrid": [], "vector": [], "fulltext": []}
    recalls = []
    with db.connection() as conn:
        conn.execute("SELECT 1")
    for text, vector in queries:
        for mode in timings:
            t0 = time.perf_counter()
            hits = searcher.search(text, args.k, mode=mode, embedding=vector)
            timings[mode].append(time.perf_counter() - t0)
            if mode == "vector":
                similarity = np.where(in_force, vectors @ vector, -np.inf)  # only what is in force can be found
                exact = set((np.argsort(-similarity)[: args.k] + 1).tolist())  # chunk ids are 1-based
                recalls.append(len(exact & {h.chunk_id for h in hits}) / args.k)
    timings.update(spelling_timings(db, [text for text, _ in queries]))
    result = {
        "chunks": args.chunks, "scheduled_documents": args.scheduled, "out_of_force_chunks": len(out_of_force),
        "sentences_per_chunk": args.sentences, "queries": args.queries, "k": args.k,
        "ef_search": args.ef_search, "build": built,
        "latency": {mode: summary_ms(values) for mode, values in timings.items()},
        "hnsw_recall_at_10": round(float(np.mean(recalls)), 4),
    }
    path = write_result(args.name, result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    db.close()
    if not args.keep:
        stop_database(server)


if __name__ == "__main__":
    main()
