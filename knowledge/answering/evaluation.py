"""Answer evaluation with a chat model: for each gold question, is every claim of the answer backed by the
passage it cites (groundedness), and do the citations point at the document that answers it (citation
correctness)? Lexical checks, so cheap and repeatable; they flag answers for a person to read, they do not
replace one."""
from __future__ import annotations

import re

from knowledge.answering.answers import CITATION, Asker, terms
from knowledge.search.evaluation import GoldQuestion

SUPPORTED = 0.5  # share of a claim's content words that its cited passages must contain


def claims(text: str) -> list[str]:
    """The answer's sentences that state something (notes in _italics_ and quoted records left out)."""
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        sentence = sentence.strip(" -*>")
        if len(terms(CITATION.sub("", sentence))) >= 3 and not sentence.startswith("_"):
            found.append(sentence)
    return found


def grounded(claim: str, passages: dict[int, str]) -> bool:
    cited = [int(n) for n in CITATION.findall(claim)]
    words = terms(CITATION.sub("", claim))
    if not cited or not words:
        return False
    backing = set().union(*(terms(passages.get(n, "")) for n in cited))
    return len(words & backing) / len(words) >= SUPPORTED


def evaluate_answers(answers, questions: list[GoldQuestion], searcher, k: int = 4) -> dict:
    """answers: an AnswerService with a chat model. Each question is answered for an asker with no records."""
    rows = []
    for gold in questions:
        answer = answers.answer(gold.question, Asker(None))
        passages = {c.n: "" for c in answer.citations}
        # the passages the model saw, by the numbers it cited (citations keep their source and section)
        hits = searcher.search(gold.question, 10)
        for c in answer.citations:
            passages[c.n] = " ".join(h.text for h in hits if h.document_id == c.document_id
                                     and (not c.section or h.section == c.section))
        said = claims(answer.text)
        backed = [s for s in said if grounded(s, passages)]
        rows.append({
            "question": gold.question, "kind": answer.kind, "claims": len(said), "grounded": len(backed),
            "citations": len(answer.citations),
            "citations_to_gold": sum(1 for c in answer.citations if c.source == gold.source),
        })
    claims_total = sum(r["claims"] for r in rows) or 1
    citations_total = sum(r["citations"] for r in rows) or 1
    answered = [r for r in rows if r["kind"] == "answer"]
    return {
        "questions": len(rows),
        "answered": round(len(answered) / (len(rows) or 1), 3),
        "groundedness": round(sum(r["grounded"] for r in rows) / claims_total, 3),
        "citation_precision": round(sum(r["citations_to_gold"] for r in rows) / citations_total, 3),
        "cites_gold_document": round(sum(1 for r in rows if r["citations_to_gold"]) / (len(rows) or 1), 3),
        "rows": rows,
    }
