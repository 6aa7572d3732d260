"""Retrieval quality on two sets: our own (the sample company's gold set, written by us: figures tuned on it are
labelled as such) and an external one nobody here wrote the documents of (public-domain pages of the US
government's 18F/TTS handbook, benchmarks/external/18f-handbook; questions written before any retrieval result
was seen, benchmarks/external/questions_*.jsonl).

For each set and each variant of the searcher: hit@1/3/5/10, MRR and search latency (p50/p95, warm).

    python benchmarks/retrieval_quality.py [--variants default,no-section-slots] [--label before]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ingested, percentile, write_result  # noqa: E402
from knowledge.runtime import SAMPLE_DOCS  # noqa: E402
from knowledge.search.evaluation import EVAL_SET, TRANSLATED_SET, is_gold, load_questions  # noqa: E402
from knowledge.search.retrieval import HybridSearcher  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

EXTERNAL = Path(__file__).resolve().parent / "external"
# multilingual: "auto" = the product's default (the multilingual vector for questions not in the company's first
# language), "always" = every question searches with it too, "off" = never.
# rerank: the sentence re-ranker (questions in the first language) or not; spelling: misspelt words corrected
# before the search (knowledge/search/spelling.py) or not.
VARIANTS = {
    "default": dict(one_per_section=True, multilingual="auto", rerank=True, spelling=True),
    "no-rerank": dict(one_per_section=True, multilingual="auto", rerank=False, spelling=True),
    "multilingual-always": dict(one_per_section=True, multilingual="always", rerank=True, spelling=True),
    "no-multilingual": dict(one_per_section=True, multilingual="off", rerank=True, spelling=True),
    "no-section-slots": dict(one_per_section=False, multilingual="auto", rerank=True, spelling=True),
    "no-spelling": dict(one_per_section=True, multilingual="auto", rerank=True, spelling=False),
}
CUTOFFS = (1, 3, 5, 10)


def external_questions():
    questions = []
    for path in sorted(EXTERNAL.glob("questions_*.jsonl")):
        questions += load_questions(path)
    return questions


def measure(searcher: HybridSearcher, questions, k: int = 10, by_answer: bool = False) -> dict:
    """by_answer: a hit must hold the answer sentence (the external sets) rather than sit under the gold heading."""
    for q in questions[:5]:  # warm caches and prepared statements
        searcher.search(q.question, k)
    ranks, seconds = [], []
    for q in questions:
        started = time.perf_counter()
        hits = searcher.search(q.question, k)
        seconds.append(time.perf_counter() - started)
        ranks.append(next((i for i, h in enumerate(hits, start=1) if is_gold(h, q, by_answer)), None))
    n = len(questions)
    report = {f"hit@{c}": round(sum(1 for r in ranks if r and r <= c) / n, 3) for c in CUTOFFS}
    report["mrr"] = round(sum(1 / r for r in ranks if r) / n, 3)
    report["search_ms"] = {"p50": round(percentile(seconds, 50) * 1000, 1),
                           "p95": round(percentile(seconds, 95) * 1000, 1)}
    report["misses@5"] = [q.question for q, r in zip(questions, ranks) if not r or r > 5]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--label", default="", help="suffix of the result file (e.g. before)")
    args = parser.parse_args()
    settings = Settings.from_env(environ={}, dotenv_path=None)
    sets = {"sample (own, tuned on)": (SAMPLE_DOCS, load_questions(EVAL_SET)),
            "sample, German questions (own)": (SAMPLE_DOCS, load_questions(TRANSLATED_SET)),
            "external (18F handbook)": (EXTERNAL / "18f-handbook", external_questions())}
    results = {}
    embeddings = None
    by_folder: dict[Path, list[str]] = {}
    for name, (folder, questions) in sets.items():
        if not questions:
            print(f"{name}: no questions yet, skipped")
            continue
        by_folder.setdefault(folder, []).append(name)
    for folder, names in by_folder.items():
        with ingested(folder, settings, embeddings) as rt:
            embeddings = rt.embeddings
            for name in names:
                questions = sets[name][1]
                results[name] = {"questions": len(questions)}
                for variant in args.variants.split(","):
                    options = dict(VARIANTS[variant])
                    ml = options["multilingual"]
                    searcher = HybridSearcher(
                        rt.db, embeddings, one_per_section=options["one_per_section"],
                        multilingual=None if ml == "off" else rt.multilingual,
                        multilingual_for=rt.searcher.multilingual_for if ml == "auto" else None,
                        reranker=rt.searcher.reranker if options["rerank"] else None,
                        rerank_for=rt.searcher.rerank_for, locator=rt.searcher.locator,
                        speller=rt.searcher.speller if options["spelling"] else None)
                    results[name][variant] = measure(searcher, questions, by_answer=name.startswith("external"))
    path = write_result("retrieval_quality" + (f"_{args.label}" if args.label else ""), {"sets": results})
    for name, by_variant in results.items():
        print(f"{name}: {by_variant['questions']} questions")
        for variant, r in by_variant.items():
            if variant == "questions":
                continue
            print(f"  {variant:18} hit@1 {r['hit@1']:.3f}  hit@3 {r['hit@3']:.3f}  hit@5 {r['hit@5']:.3f}  "
                  f"hit@10 {r['hit@10']:.3f}  MRR {r['mrr']:.3f}  search p50 {r['search_ms']['p50']} ms "
                  f"p95 {r['search_ms']['p95']} ms")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
