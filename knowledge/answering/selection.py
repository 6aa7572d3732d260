"""Which sentences of the retrieved passages the offline answerer quotes, and which candidates the re-ranker puts
first: chosen by meaning (each sentence's vector against the question's, in the multilingual space so a question
in one language finds the sentence written in another), with rare shared words and the passage's rank as
tie-breakers.

The sentence vectors are stored with their passages and come with the search candidates
(knowledge/search/sentences.py); nothing is cached here, so a fresh process answers like a warm one.
"""
from __future__ import annotations

import numpy as np

from knowledge.search.sentences import StoredSentences, embed_unstored


class MeaningScorer:
    """similarities(question, groups) -> cosine of each sentence with the question, in one model's space (`space`:
    the name its stored vectors go by, "primary" or "multilingual"). `groups`: per passage, its stored sentences
    (or None) and the texts its sentences are judged on; a passage whose vectors in this space are not stored has
    its sentences embedded now."""

    def __init__(self, model, space: str = "primary"):
        self.model = model
        self.space = space

    def vectors(self, groups: list[tuple[StoredSentences | None, list[str]]]) -> np.ndarray:
        parts: list[np.ndarray | None] = []
        unstored: list[str] = []
        for stored, judged in groups:
            matrix = stored.vectors.get(self.space) if stored is not None else None
            if matrix is not None and len(matrix) == len(judged):
                parts.append(matrix)
            else:
                parts.append(None)
                unstored.extend(judged)
        embedded = embed_unstored(self.model, unstored) if unstored else None
        at, out = 0, []
        for part, (_, judged) in zip(parts, groups):
            if part is None:
                part, at = embedded[at:at + len(judged)], at + len(judged)
            out.append(part)
        return np.vstack(out) if out else np.zeros((0, 0), np.float32)

    def __call__(self, question: str | np.ndarray, groups: list[tuple[StoredSentences | None, list[str]]]) -> np.ndarray:
        if not any(judged for _, judged in groups):
            return np.zeros(0, dtype=np.float32)
        query = question if isinstance(question, np.ndarray) else self.model.embed_array([question])[0]
        query = np.asarray(query, dtype=np.float32)
        return self.vectors(groups) @ (query / max(float(np.linalg.norm(query)), 1e-12))


FACTS_WEIGHT = 0.5  # how far a personal question leans towards its facts (chosen on our own sample questions)


def facts_text(facts) -> str:
    """The asker's facts (Documents or their texts) as one text to embed."""
    return " ".join(getattr(d, "page_content", d) for d in facts)


def lean_towards(question: np.ndarray, facts: np.ndarray, weight: float | None = None) -> np.ndarray:
    """The question's unit vector leaning towards the facts' (FACTS_WEIGHT): a passage or sentence must suit the
    question first and explain the asker's figures second."""
    weight = FACTS_WEIGHT if weight is None else weight
    both = (question / max(float(np.linalg.norm(question)), 1e-12)
            + weight * facts / max(float(np.linalg.norm(facts)), 1e-12))
    return (both / max(float(np.linalg.norm(both)), 1e-12)).astype(np.float32)


RERANK_WEIGHT = 1.0  # fused score + this x the passage's best sentence similarity (chosen on our own set)


class SentenceReranker:
    """Re-ranks search candidates by their best single sentence's similarity to the question: a passage's own
    vector averages all its sentences, so the one sentence that answers can be drowned by its neighbours.
    It uses the same shipped model and the same stored sentence vectors as the offline answerer's quotes (no
    cross-encoder with its weights in a registry package exists; see docs/benchmarks.md). Only for questions in
    the passages' language: all-MiniLM-L6-v2 judges other languages' sentences poorly (measured on our
    translated set).

    The order changes; each candidate keeps its first-stage score, which the answer chain's support threshold
    and `hrbot search` report (a bonus on that scale would make an unrelated passage look supported)."""

    def __init__(self, scorer: MeaningScorer, sentences, weight: float = RERANK_WEIGHT):
        self.scorer = scorer
        self.sentences = sentences  # (text, section) -> sentences to judge, for passages not stored with theirs
        self.weight = weight

    def __call__(self, query: np.ndarray, rows: list, text_at: int, section_at: int, score_at: int,
                 sentences_at: int | None = None) -> list:
        if not rows or not self.weight:
            return rows
        groups = []
        for row in rows:
            stored = row[sentences_at] if sentences_at is not None else None
            judged = ([j for _, j in stored.quotable(row[section_at] or "")] if stored is not None
                      else self.sentences(row[text_at], row[section_at] or "")) or [row[text_at]]
            groups.append((stored, judged))
        sims = self.scorer(query, groups)
        keyed, start = [], 0
        for row, (_, judged) in zip(rows, groups):
            best = float(np.max(sims[start:start + len(judged)]))
            start += len(judged)
            keyed.append((float(row[score_at]) + self.weight * best, row))
        return [row for _, row in sorted(keyed, key=lambda pair: -pair[0])]
