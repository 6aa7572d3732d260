"""Does the offline answerer quote the sentence that answers the question? For each gold question that carries
its answer sentence: the whole offline answer as `hrbot ask` gives it (retrieval, then sentence selection), and
whether one of the quoted sentences holds the answer. Sentences chosen by shared words (before) and by meaning
(after), on our own set (English and German; the selection weights were set on it) and on the external one.

    python benchmarks/answer_quotes.py
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ingested, percentile, write_result  # noqa: E402
from benchmarks.retrieval_quality import EXTERNAL, external_questions  # noqa: E402
from knowledge.answering.answers import Asker  # noqa: E402
from knowledge.answering.chain import AnswerService  # noqa: E402
from knowledge.runtime import SAMPLE_DOCS  # noqa: E402
from knowledge.search.evaluation import EVAL_SET, TRANSLATED_SET, holds_answer, load_questions  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

QUOTE = re.compile(r"^> (.*?) \[\d+\]$", re.M)
NOBODY = Asker("U0NOBODY")  # no HR record: a policy answer, as any employee gets it


def quoted(text: str) -> list[str]:
    return QUOTE.findall(text)


def holds(quotes: list[str], answer: str) -> bool:
    # a gold answer may be a line that stops mid-sentence, a quote may be one of two sentences of it
    return any(holds_answer(q, answer) or holds_answer(answer, q) for q in quotes)


def measure(service: AnswerService, questions, retrieved_k: int) -> dict:
    rows, seconds = [], []
    for q in questions:
        started = time.perf_counter()
        answer = service.answer(q.question, NOBODY)
        seconds.append(time.perf_counter() - started)
        in_passages = any(holds_answer(h.text, q.answer) for h in
                          service.searcher.search(q.question, retrieved_k) if h.source == q.source)
        rows.append((holds(quoted(answer.text), q.answer), in_passages, q.question))
    n = len(rows)
    return {"quote_holds_answer": round(sum(r[0] for r in rows) / n, 3),
            "answer_in_passages": round(sum(r[1] for r in rows) / n, 3),
            "quote_holds_answer_when_in_passages": round(
                sum(r[0] for r in rows if r[1]) / max(1, sum(r[1] for r in rows)), 3),
            "answer_ms": {"p50": round(percentile(seconds, 50) * 1000, 1),
                          "p95": round(percentile(seconds, 95) * 1000, 1)},
            "missed": [r[2] for r in rows if r[1] and not r[0]]}


def main() -> None:
    settings = Settings.from_env(environ={}, dotenv_path=None)  # the offline answerer
    sets = {"sample (own; selection weights set on it)": (SAMPLE_DOCS, load_questions(EVAL_SET)),
            "sample, German questions (own)": (SAMPLE_DOCS, load_questions(TRANSLATED_SET)),
            "external (18F handbook)": (EXTERNAL / "18f-handbook", external_questions())}
    results, embeddings = {}, None
    for folder in dict.fromkeys(f for f, _ in sets.values()):
        with ingested(folder, settings, embeddings) as rt:
            embeddings = rt.embeddings
            for name, (set_folder, questions) in sets.items():
                questions = [q for q in questions if q.answer]
                if set_folder != folder or not questions:
                    continue
                service = AnswerService(rt.searcher, rt.records, settings, rt.profile)
                results[name] = {"questions": len(questions)}
                scorers, service.scorers = service.scorers, {}
                results[name]["by shared words (before)"] = measure(service, questions, service.k)
                service.scorers = scorers
                measure(service, questions, service.k)  # fill the sentence cache: the figures below are warm
                results[name]["by meaning (after)"] = measure(service, questions, service.k)
    path = write_result("answer_quotes", {"sets": results})
    for name, by_way in results.items():
        print(f"{name}: {by_way['questions']} questions with an answer sentence")
        for way, r in by_way.items():
            if way == "questions":
                continue
            print(f"  {way:26} quote holds the answer {r['quote_holds_answer']:.3f} "
                  f"(when retrieval found it: {r['quote_holds_answer_when_in_passages']:.3f}; found in the "
                  f"passages {r['answer_in_passages']:.3f})  answer p50 {r['answer_ms']['p50']} ms "
                  f"p95 {r['answer_ms']['p95']} ms")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
