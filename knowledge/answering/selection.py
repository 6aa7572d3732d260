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
