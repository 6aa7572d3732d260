"""Retrieval evaluation: hit@k and MRR of vector-only, full-text-only and hybrid search on a gold question set."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import HRBotError
from knowledge.search.retrieval import MODES, Hit, HybridSearcher

EVAL_SET = Path(__file__).resolve().parent / "eval" / "retrieval.jsonl"
# Gold questions translated into the language some of the sample company's employees ask in (our own
# translations; the policies are in English): they measure retrieval across languages.
TRANSLATED_SET = Path(__file__).resolve().parent / "eval" / "retrieval_de.jsonl"
CUTOFFS = (1, 3, 5)


@dataclass(frozen=True)
class GoldQuestion:
    question: str
    source: str
    section: str | None
    page: int | None
    answer: str | None = None  # the sentence that answers it, verbatim from the document (external sets)


ANSWER_WINDOW = 8  # consecutive words of the answer sentence that a passage must hold to count as holding it


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def holds_answer(text: str, answer: str) -> bool:
    """Does the passage hold the answer sentence? Markup may be gone and a chunk may cut the sentence, so any
    run of ANSWER_WINDOW consecutive words of it (the whole of a shorter one) counts."""
    words, body = _words(answer), " " + " ".join(_words(text)) + " "
    size = min(ANSWER_WINDOW, len(words))
    return any(" " + " ".join(words[i:i + size]) + " " in body for i in range(0, len(words) - size + 1))


def load_questions(path: Path = EVAL_SET) -> list[GoldQuestion]:
    questions = []
    for line_no, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(GoldQuestion(row["question"], row["source"], row.get("section"), row.get("page"),
                                          row.get("answer")))
        except (ValueError, KeyError) as exc:
            raise HRBotError(f"{path}:{line_no}: not a valid evaluation row ({exc}).") from None
    return questions


def is_gold(hit: Hit, gold: GoldQuestion, by_answer: bool = False) -> bool:
    """The passage comes from the gold document, under the gold heading, on the gold page (where given); with
    by_answer (the external sets, whose headings are the documents' own), the passage holds the answer sentence
    instead. A result merged from several passages of one page region is gold when one of them is."""
    if hit.parts:
        return any(is_gold(part, gold, by_answer) for part in hit.parts)
    if hit.source != gold.source:
        return False
    if by_answer and gold.answer:
        return holds_answer(hit.text, gold.answer)
    if gold.section and gold.section.lower() not in hit.section.lower():
        return False
    if gold.page is not None:
        start = hit.page_start if hit.page_start is not None else hit.page
        end = hit.page_end if hit.page_end is not None else hit.page
        if start is None or not (start <= gold.page <= end):
            return False
    return True


def evaluate(searcher: HybridSearcher, questions: list[GoldQuestion], k: int = 5) -> dict:
    """Metrics per mode, plus each question's gold rank per mode (None when not in the top k)."""
    report: dict = {"questions": len(questions), "k": k, "modes": {}, "ranks": []}
    ranks_by_mode = {}
    for mode in MODES:
        ranks = []
        for gold in questions:
            hits = searcher.search(gold.question, k, mode=mode)
            ranks.append(next((i for i, hit in enumerate(hits, start=1) if is_gold(hit, gold)), None))
        ranks_by_mode[mode] = ranks
        n = len(questions) or 1
        metrics = {f"hit@{c}": round(sum(1 for r in ranks if r is not None and r <= c) / n, 3) for c in CUTOFFS}
        metrics["mrr"] = round(sum(1.0 / r for r in ranks if r) / n, 3)
        report["modes"][mode] = metrics
    for i, gold in enumerate(questions):
        report["ranks"].append({"question": gold.question, "source": gold.source,
                                **{mode: ranks_by_mode[mode][i] for mode in MODES}})
    return report


def missing_sources(searcher: HybridSearcher, questions: list[GoldQuestion]) -> list[str]:
    from knowledge.documents.store import list_documents

    with searcher.db.connection() as conn:
        present = {d["source"] for d in list_documents(conn)}
    return sorted({q.source for q in questions} - present)
