"""The version filter's cost (issue 26, policy versions), measured A/B in one process on one database so the
machine's load (other helpers' work on 2 cores) falls on both alike: the search statement as it is, and the same
statement with the version filter, its InitPlan and the version columns taken out (the statement before issue 26),
alternated query by query.

    python benchmarks/version_filter_ab.py [--chunks 20000] [--queries 200] [--scheduled 20]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, summary_ms, write_result  # noqa: E402
from benchmarks.retrieval_latency import NOISE, DIM, build, schedule_versions  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.search import retrieval  # noqa: E402
from knowledge.search.retrieval import CANDIDATES, SELECTIVE_DF, query_words  # noqa: E402

WITHOUT_VERSIONS = (retrieval.SEARCH.replace("WITH " + retrieval.OUT_OF_FORCE, "WITH ")
                    .replace("\n      AND c.document_id <> ALL (ARRAY(SELECT document_id FROM out_of_force))", "")
                    .replace(retrieval.VERSION_COLUMNS + ", ", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--scheduled", type=int, default=0)
    parser.add_argument("--name", default="version_filter_ab")
    args = parser.parse_args()
    assert "out_of_force" not in WITHOUT_VERSIONS and "effective_until" not in WITHOUT_VERSIONS
    rng = np.random.default_rng(7)
    url, server = benchmark_database("versions_ab", None)
    vectors, labels, pools, pool_of, _ = build(url, args.chunks, rng, 4)
    if args.scheduled:
        schedule_versions(url, args.scheduled)
    db = Database(url)
    words = " ".join(" ".join(p) for p in pools).split()
    timings: dict[str, list[float]] = {"with version filter": [], "without (before issue 26)": []}
    statements = {"with version filter": retrieval.SEARCH, "without (before issue 26)": WITHOUT_VERSIONS}
    with db.connection() as conn:
        for i in range(args.queries + 20):
            target = int(rng.integers(0, args.chunks))
            vector = vectors[target] + rng.normal(scale=NOISE, size=DIM).astype(np.float32)
            vector /= np.linalg.norm(vector)
            start = int(rng.integers(0, len(words) - 8))
            params = {"embedding": vector, "words": query_words(" ".join(words[start:start + 6])), "audiences": None,
                      "document_ids": None, "as_of": None, "candidates": CANDIDATES, "rrf_k": 60, "limit": 30,
                      "selective_df": SELECTIVE_DF, "use_ml": False, "ml": None, "sentences_ml": False,
                      **retrieval._MODE_PARAMS["hybrid"]}
            params.pop("multilingual")
            order = list(statements) if i % 2 else list(reversed(statements))
            for name in order:
                t0 = time.perf_counter()
                conn.execute(statements[name], params, binary=True).fetchall()
                if i >= 20:  # the first 20 warm the caches and prepared statements
                    timings[name].append(time.perf_counter() - t0)
    result = {"chunks": args.chunks, "queries": args.queries, "scheduled_documents": args.scheduled,
              "latency": {name: summary_ms(values) for name, values in timings.items()}}
    path = write_result(args.name, result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    db.close()
    stop_database(server)


if __name__ == "__main__":
    main()
