"""Which sentences of the retrieved passages the offline answerer quotes: chosen by meaning (each sentence's
vector against the question's, in the multilingual space so a question in one language finds the sentence written in another), with
rare shared words and the passage's rank as tie-breakers.

Sentence vectors are cached per process: the same policy passages come back for many questions, so after the
first few answers most sentences are already known (benchmarks/ask_latency.py reports cold and warm).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class SentenceVectors:
    """A bounded cache of one embedding model's sentence vectors (normalised), filled a batch at a time."""

    def __init__(self, model, size: int = 50_000):
        self.model = model
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, sentences: list[str]) -> np.ndarray:
        with self._lock:
            known = {s: self._cache[s] for s in sentences if s in self._cache}
        missing = list(dict.fromkeys(s for s in sentences if s not in known))
        if missing:  # embedded outside the lock: another thread may read the cache meanwhile
            known.update(zip(missing, self.model.embed_array(missing)))
        with self._lock:
            for sentence in dict.fromkeys(sentences):
                self._cache[sentence] = known[sentence]
                self._cache.move_to_end(sentence)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return np.vstack([known[s] for s in sentences]) if sentences else np.zeros((0, 0), np.float32)

    def __len__(self) -> int:
        return len(self._cache)


class MeaningScorer:
    """similarities(question, sentences) -> cosine of each sentence with the question, in one model's space."""

    def __init__(self, model, size: int = 50_000):
        self.model = model
        self.vectors = SentenceVectors(model, size)

    def __call__(self, question: str | np.ndarray, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        query = question if isinstance(question, np.ndarray) else self.model.embed_array([question])[0]
        query = np.asarray(query, dtype=np.float32)
        return self.vectors(sentences) @ (query / max(float(np.linalg.norm(query)), 1e-12))


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
    It uses the same shipped model and the same cached sentence vectors as the offline answerer's quotes (no
    cross-encoder with its weights in a registry package exists; see docs/benchmarks.md). Only for questions in
    the passages' language: all-MiniLM-L6-v2 judges other languages' sentences poorly (measured on our
    translated set).

    The order changes; each candidate keeps its first-stage score, which the answer chain's support threshold
    and `hrbot search` report (a bonus on that scale would make an unrelated passage look supported)."""

    def __init__(self, scorer: MeaningScorer, sentences, weight: float = RERANK_WEIGHT):
        self.scorer = scorer
        self.sentences = sentences  # (text, section) -> sentences to judge, as the answerer splits them
        self.weight = weight

    def __call__(self, query: np.ndarray, rows: list, text_at: int, section_at: int, score_at: int) -> list:
        if not rows or not self.weight:
            return rows
        judged = [self.sentences(row[text_at], row[section_at] or "") or [row[text_at]] for row in rows]
        flat = [s for group in judged for s in group]
        sims = self.scorer(query, flat)
        keyed, start = [], 0
        for row, group in zip(rows, judged):
            best = float(np.max(sims[start:start + len(group)]))
            start += len(group)
            keyed.append((float(row[score_at]) + self.weight * best, row))
        return [row for _, row in sorted(keyed, key=lambda pair: -pair[0])]
