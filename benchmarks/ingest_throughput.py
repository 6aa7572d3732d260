"""Ingestion throughput with the local embedding model, against the model's own speed on the same chunks.

The sample documents are copied N times under distinct names (so none is "unchanged"), ingested through
`Ingestor.ingest_paths` into a fresh embedded database, and the same chunk texts are embedded by the bare model.
The gap between the two is what parsing, chunking and storage cost.

    python benchmarks/ingest_throughput.py [--copies 5]

HRBOT_EMBED_RUNTIME (auto, numpy, torch) picks the local model's runtime, as it does for hrbot.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, write_result  # noqa: E402
from knowledge.documents.chunking import chunk_blocks  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.search.embeddings import LocalEmbeddings  # noqa: E402
from knowledge.documents.ingest import Ingestor, embedding_text  # noqa: E402
from knowledge.documents.loaders import parse  # noqa: E402
from knowledge.runtime import SAMPLE_DOCS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    corpus = Path(tempfile.mkdtemp(prefix="hrbot-ingest-corpus-"))
    for copy in range(args.copies):
        for path in SAMPLE_DOCS.iterdir():
            shutil.copy(path, corpus / f"{path.stem}-{copy}{path.suffix}")
    url, server = benchmark_database("ingest")
    db = Database(url)
    model = LocalEmbeddings(runtime=os.environ.get("HRBOT_EMBED_RUNTIME", "auto"))
    model.embed_array(["warm up the model"] * 8)

    per_file, pages, words = [], 0, 0
    t0 = time.perf_counter()
    for path in sorted(corpus.iterdir()):
        doc = parse(path.name, path.read_bytes())
        pages += doc.pages or 0
        words += sum(len(b.text.split()) for b in doc.blocks)
        per_file.append([embedding_text(doc.title, c.section, c.text) for c in chunk_blocks(doc.blocks)])
    parse_seconds = time.perf_counter() - t0
    texts = [t for file_texts in per_file for t in file_texts]

    # The model alone, on the same texts in the same batches as ingestion makes (per file, batch_size each).
    t0 = time.perf_counter()
    for file_texts in per_file:
        for start in range(0, len(file_texts), model.batch_size):
            model.embed_array(file_texts[start:start + model.batch_size])
    model_seconds = time.perf_counter() - t0

    ingestor = Ingestor(db, model, max_bytes=50 * 1024 * 1024)
    t0 = time.perf_counter()
    results = ingestor.ingest_paths([corpus])
    ingest_seconds = time.perf_counter() - t0
    assert all(r.status == "added" for r in results), [(r.source, r.reason) for r in results]
    chunks = sum(r.chunks for r in results)
    assert chunks == len(texts)

    result = {
        "runtime": model.runtime, "torch_installed": find_spec("sentence_transformers") is not None,
        "files": len(results), "pdf_pages": pages, "words": words, "chunks": chunks,
        "model_only": {"seconds": round(model_seconds, 2), "chunks_per_s": round(chunks / model_seconds, 1)},
        "ingest": {"seconds": round(ingest_seconds, 2), "chunks_per_s": round(chunks / ingest_seconds, 1),
                   "files_per_s": round(len(results) / ingest_seconds, 2),
                   "pdf_pages_per_s": round(pages / ingest_seconds, 2),
                   "words_per_s": round(words / ingest_seconds)},
        "parse_and_chunk_seconds": round(parse_seconds, 2),
        "ingest_vs_model_slowdown_pct": round(100 * (ingest_seconds / model_seconds - 1), 1),
    }
    path = write_result("ingest_throughput", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    db.close()
    shutil.rmtree(corpus)
    stop_database(server)


if __name__ == "__main__":
    main()
