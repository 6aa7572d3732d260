"""Hybrid retrieval: HNSW vector search and PostgreSQL full-text search fused by reciprocal rank, in SQL."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from knowledge.db import Database
from knowledge.embeddings import GET_SPACE, check_space

RRF_K = 60          # the constant from Cormack et al.; pgvector-python's hybrid example uses it too
CANDIDATES = 40     # per list, before fusion
NEAR_DUPLICATE = 0.97  # cosine similarity above which a passage adds nothing to one already chosen
MODES = ("hybrid", "vector", "fulltext")

_FILTERS = """
      AND (%(audiences)s::text[] IS NULL OR c.audience IS NULL OR c.audience = ANY(%(audiences)s::text[]))
      AND (%(document_ids)s::bigint[] IS NULL OR c.document_id = ANY(%(document_ids)s::bigint[]))"""

_VECTOR_HITS = f"""
vector_hits AS (
    SELECT c.chunk_id, row_number() OVER (ORDER BY c.embedding <=> %(embedding)s) AS rank
    FROM chunks c
    WHERE true {_FILTERS}
    ORDER BY c.embedding <=> %(embedding)s
    LIMIT %(candidates)s
)"""

# Employees' questions rarely contain every word of the passage that answers them: OR the words (ranking does
# the rest). A word we have never seen is replaced by its closest known word (trigram similarity): typos.
_TEXT_HITS = f"""
query_words AS (
    SELECT coalesce(
        (SELECT l.word FROM lexicon l WHERE l.word = w.word),
        (SELECT l.word FROM lexicon l WHERE l.word %% w.word
          ORDER BY similarity(l.word, w.word) DESC, l.word LIMIT 1),
        w.word) AS word
    FROM unnest(%(words)s::text[]) AS w(word)
),
text_query AS (
    SELECT to_tsquery('english', coalesce(string_agg(quote_literal(word), ' | '), '')) AS q FROM query_words
),
text_hits AS (
    SELECT c.chunk_id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, t.q, 1) DESC, c.chunk_id) AS rank
    FROM chunks c, text_query t
    WHERE c.tsv @@ t.q {_FILTERS}
    ORDER BY ts_rank_cd(c.tsv, t.q, 1) DESC, c.chunk_id
    LIMIT %(candidates)s
)"""

_RESULT = """
SELECT c.chunk_id, c.document_id, d.source, d.title, c.page, c.page_start, c.page_end, c.section, c.text,
       f.score, c.embedding
FROM fused f JOIN chunks c USING (chunk_id) JOIN documents d USING (document_id)
ORDER BY f.score DESC, c.chunk_id
LIMIT %(limit)s"""

HYBRID_SEARCH = f"""
WITH {_VECTOR_HITS}, {_TEXT_HITS},
fused AS (
    SELECT chunk_id, sum(1.0 / (%(rrf_k)s + rank)) AS score
    FROM (SELECT * FROM vector_hits UNION ALL SELECT * FROM text_hits) hits
    GROUP BY chunk_id
){_RESULT}"""

VECTOR_SEARCH = f"""
WITH {_VECTOR_HITS},
fused AS (SELECT chunk_id, 1.0 / (%(rrf_k)s + rank) AS score FROM vector_hits){_RESULT}"""

FULLTEXT_SEARCH = f"""
WITH {_TEXT_HITS},
fused AS (SELECT chunk_id, 1.0 / (%(rrf_k)s + rank) AS score FROM text_hits){_RESULT}"""

SQL_BY_MODE = {"hybrid": HYBRID_SEARCH, "vector": VECTOR_SEARCH, "fulltext": FULLTEXT_SEARCH}
QUERY_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    document_id: int
    source: str
    title: str
    page: int | None
    page_start: int | None
    page_end: int | None
    section: str
    text: str
    score: float

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = round(self.score, 6)
        return data

    def to_document(self) -> Document:
        return Document(page_content=self.text, metadata={k: v for k, v in asdict(self).items() if k != "text"})


def query_words(query: str) -> list[str]:
    return list(dict.fromkeys(w for w in QUERY_WORD.findall(query.lower()) if len(w) >= 2))[:32]


class HybridSearcher:
    """Searches the knowledge base. Checks once that the stored vectors came from the configured model."""

    def __init__(self, db: Database, embeddings):
        self.db = db
        self.embeddings = embeddings
        self._space_checked = False

    def search(self, query: str, k: int = 5, *, mode: str = "hybrid", audiences: list[str] | None = None,
               document_ids: list[int] | None = None, embedding: np.ndarray | None = None) -> list[Hit]:
        if mode not in SQL_BY_MODE:
            raise ValueError(f"mode must be one of {MODES}")
        if not query.strip():
            return []
        if embedding is None:
            embedding = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        params = {
            "embedding": embedding, "words": query_words(query), "audiences": audiences,
            "document_ids": document_ids, "candidates": max(CANDIDATES, k * 2), "rrf_k": RRF_K,
            "limit": k * 3,
        }
        with self.db.connection() as conn:
            if not self._space_checked:
                row = conn.execute(GET_SPACE).fetchone()
                if row is None:
                    return []  # nothing ingested yet
                check_space(row, getattr(self.embeddings, "model_name", ""), len(embedding))
                self._space_checked = True
            rows = conn.execute(SQL_BY_MODE[mode], params).fetchall()
        return _diversify(rows, k)


def _diversify(rows, k: int) -> list[Hit]:
    """Drop passages that are near-copies of a better-ranked one (two plans' booklets crowd each other out)."""
    chosen: list[Hit] = []
    vectors: list[np.ndarray] = []
    for row in rows:
        vector = np.asarray(getattr(row[10], "to_numpy", lambda: row[10])(), dtype=np.float32)
        norm = np.linalg.norm(vector) or 1.0
        vector = vector / norm
        if any(float(vector @ v) >= NEAR_DUPLICATE for v in vectors):
            continue
        chosen.append(Hit(*row[:9], float(row[9])))
        vectors.append(vector)
        if len(chosen) == k:
            break
    return chosen


class PolicyRetriever(BaseRetriever):
    """LangChain retriever over the knowledge base, optionally limited to an audience (country)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    k: int = 5
    audiences: list[str] | None = None
    mode: str = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.searcher.search(query, self.k, mode=self.mode, audiences=self.audiences)
        return [hit.to_document() for hit in hits]
