"""Long PDFs (issue 27): does the right page come first, once? On the external PDF set (benchmarks/external/pdfs,
public-domain US government benefit and retirement-plan booklets; questions labelled with file and page before any
result was seen, benchmarks/external/pdf_questions.jsonl), measured as a new user would see it: the folder's PDFs
ingested as `hrbot ingest` does (not its README, which describes the set), then the searcher `hrbot search --k 10
--json` uses, per question.

Beside it, the naive LangChain baseline measured the same way: PyPDFLoader (a Document per page), a
RecursiveCharacterTextSplitter of 1000 characters with 200 overlap, the same all-MiniLM-L6-v2 embeddings, and an
in-memory cosine search over the chunk vectors (numpy; exact, so no index approximation on its side).

A hit is strict: a result from the labelled file whose reported page is one the label names (`pages`). Reported:
hit@1/3/5/10 and MRR; hit@5 with the page off by one allowed; the right file anywhere in the top 5; how many result
lists hold one page of one file twice in their top 5; hit@5 by kind of question (fact, table, vague, misspelt).

    python benchmarks/pdf_pages.py [--label after] [--no-baseline] [--questions FILE.jsonl...]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ingested, percentile, write_result  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

EXTERNAL = Path(__file__).resolve().parent / "external"
PDFS = EXTERNAL / "pdfs"
QUESTIONS = EXTERNAL / "pdf_questions.jsonl"
CUTOFFS = (1, 3, 5, 10)


@dataclass(frozen=True)
class Result:
    source: str
    page: int | None


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def score(questions: list[dict], results: list[list[Result]]) -> dict:
    """The figures for one searcher: results[i] is question i's top 10, best first."""
    n = len(questions)
    ranks, near5, file5, twice = [], 0, 0, 0
    for q, hits in zip(questions, results):
        ranks.append(next((i for i, h in enumerate(hits, 1) if h.source == q["source"] and h.page in q["pages"]),
                          None))
        top5 = hits[:5]
        near5 += any(h.source == q["source"] and h.page is not None and min(abs(h.page - p) for p in q["pages"]) <= 1
                     for h in top5)
        file5 += any(h.source == q["source"] for h in top5)
        places = Counter((h.source, h.page) for h in top5)
        twice += any(count > 1 for count in places.values())
    report = {f"hit@{c}": round(sum(1 for r in ranks if r and r <= c) / n, 3) for c in CUTOFFS}
    report["mrr"] = round(sum(1 / r for r in ranks if r) / n, 3)
    report["hit@5, page +-1"] = round(near5 / n, 3)
    report["right file in top 5"] = round(file5 / n, 3)
    report["lists with a page twice in top 5"] = twice
    kinds = sorted({q["kind"] for q in questions})
    report["hit@5 by kind"] = {
        kind: f"{sum(1 for q, r in zip(questions, ranks) if q['kind'] == kind and r and r <= 5)}"
              f"/{sum(1 for q in questions if q['kind'] == kind)}" for kind in kinds}
    report["ranks"] = {q["question"]: r for q, r in zip(questions, ranks)}
    report["top 3"] = {q["question"]: [f"{h.source} p{h.page}" for h in hits[:3]]
                       for q, hits in zip(questions, results)}
    return report


def product_results(rt, questions: list[dict], k: int = 10) -> tuple[list[list[Result]], list[float]]:
    """What `hrbot search --k 10 --json` returns: its `source` and `page`."""
    for q in questions[:3]:  # warm caches
        rt.searcher.search(q["question"], k)
    results, seconds = [], []
    for q in questions:
        started = time.perf_counter()
        hits = rt.searcher.search(q["question"], k)
        seconds.append(time.perf_counter() - started)
        results.append([Result(h.as_json()["source"], h.as_json()["page"]) for h in hits])
    return results, seconds


def naive_results(embeddings, questions: list[dict], k: int = 10) -> tuple[list[list[Result]], dict]:
    """The naive LangChain pipeline: PyPDFLoader pages, 1000/200 recursive splitter, MiniLM, cosine search."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.document_loaders import PyPDFLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = []
    for path in sorted(PDFS.glob("*.pdf")):
        chunks += splitter.split_documents(PyPDFLoader(str(path)).load())
    vectors = np.asarray(embeddings.embed_documents([c.page_content for c in chunks]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    results = []
    for q in questions:
        query = np.asarray(embeddings.embed_query(q["question"]), dtype=np.float32)
        order = np.argsort(-(vectors @ (query / max(float(np.linalg.norm(query)), 1e-12))))[:k]
        results.append([Result(Path(chunks[i].metadata["source"]).name, int(chunks[i].metadata["page"]) + 1)
                        for i in order])
    return results, {"chunks": len(chunks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default="", help="suffix of the result file (e.g. before)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive LangChain baseline")
    parser.add_argument("--questions", type=Path, nargs="+", default=[QUESTIONS],
                        help="question sets (JSON lines: question, source, pages, kind), scored over one ingest; "
                             "the baseline is measured on the first; default %(default)s")
    args = parser.parse_args()
    questions = load_questions(args.questions[0])
    settings = Settings.from_env(environ={}, dotenv_path=None)
    report: dict = {"question set": args.questions[0].name, "questions": len(questions),
                    "files": len(list(PDFS.glob("*.pdf")))}
    # the PDFs only, as the baseline reads them: the folder's README describes each file and its questions'
    # origin; ingested beside them it was a document of its own that outranked two files' cover pages
    with ingested(PDFS, settings, paths=sorted(PDFS.glob("*.pdf"))) as rt:
        with rt.db.connection() as conn:
            report["passages"] = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
            report["pages"] = conn.execute("SELECT sum(pages) FROM documents WHERE status = 'active'").fetchone()[0]
        results, seconds = product_results(rt, questions)
        report["hrbot"] = score(questions, results)
        report["hrbot"]["search_ms"] = {"p50": round(percentile(seconds, 50) * 1000, 1),
                                        "p95": round(percentile(seconds, 95) * 1000, 1)}
        for other in args.questions[1:]:
            extra = load_questions(other)
            report[f"hrbot on {other.name}"] = {"questions": len(extra),
                                                **score(extra, product_results(rt, extra)[0])}
        if not args.no_baseline:
            naive, extra = naive_results(rt.embeddings, questions)
            report["naive LangChain (PyPDFLoader, 1000/200, MiniLM, in-memory cosine)"] = {**score(questions, naive),
                                                                                          **extra}
    path = write_result("pdf_pages" + (f"_{args.label}" if args.label else ""), report)
    for name, figures in report.items():
        if isinstance(figures, dict):
            shown = {key: value for key, value in figures.items() if key not in ("ranks", "top 3")}
            print(f"{name}: {json.dumps(shown)}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
