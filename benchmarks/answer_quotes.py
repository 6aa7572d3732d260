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


PERSONAL_SET = Path(__file__).resolve().parents[1] / "knowledge" / "search" / "eval" / "personal.jsonl"


def measure_personal(service: AnswerService) -> dict:
    """Questions the asker's own records answer: does every quote come from a section that explains the
    figures (the gold sections), or does an unrelated neighbour slip in?"""
    import json

    rows = []
    for line in PERSONAL_SET.read_text().splitlines():
        q = json.loads(line)
        answer = service.answer(q["question"], Asker(q["asker"]))
        cited = [c.section or "" for c in answer.citations if c.source == q["source"]] + [
            "(other document)" for c in answer.citations if c.source != q["source"]]
        good = [any(g.lower() in s.lower() for g in q["sections"]) for s in cited]
        rows.append((bool(answer.facts), bool(good) and all(good), any(good), q["question"], q["asker"], cited))
    n = len(rows)
    return {"with_facts": sum(r[0] for r in rows), "all_quotes_on_topic": round(sum(r[1] for r in rows) / n, 3),
            "some_quote_on_topic": round(sum(r[2] for r in rows) / n, 3),
            "off_topic": [f"{r[3]} ({r[4]}): {r[5]}" for r in rows if not r[1]]}


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
            if folder == SAMPLE_DOCS:
                from knowledge.answering import answers, selection

                rt.load_samples()  # the sample employees' records
                service = AnswerService(rt.searcher, rt.records, settings, rt.profile)
                saved = selection.FACTS_WEIGHT, answers.PERSONAL_MARGIN, answers.PERSONAL_MAX_SENTENCES
                selection.FACTS_WEIGHT, answers.PERSONAL_MARGIN, answers.PERSONAL_MAX_SENTENCES = (
                    0.0, answers.SELECTION_MARGIN, 3)
                before = measure_personal(service)
                selection.FACTS_WEIGHT, answers.PERSONAL_MARGIN, answers.PERSONAL_MAX_SENTENCES = saved
                results["personal questions (own, 10; weights set on them)"] = {
                    "questions": 10, "question and its words (before)": before,
                    "leaning towards the facts (after)": measure_personal(service)}
    path = write_result("answer_quotes", {"sets": results})
    for name, by_way in results.items():
        print(f"{name}: {by_way['questions']} questions with an answer sentence")
        for way, r in by_way.items():
            if way == "questions":
                continue
            if "all_quotes_on_topic" in r:
                print(f"  {way:34} every quote on topic {r['all_quotes_on_topic']:.3f}, some quote on topic "
                      f"{r['some_quote_on_topic']:.3f} ({r['with_facts']} answered from records)")
                continue
            print(f"  {way:26} quote holds the answer {r['quote_holds_answer']:.3f} "
                  f"(when retrieval found it: {r['quote_holds_answer_when_in_passages']:.3f}; found in the "
                  f"passages {r['answer_in_passages']:.3f})  answer p50 {r['answer_ms']['p50']} ms "
                  f"p95 {r['answer_ms']['p95']} ms")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
