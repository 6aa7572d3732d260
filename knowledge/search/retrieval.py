"""Hybrid retrieval in one SQL statement: candidates from two embedding models (HNSW) and BM25 full text, fused
by score."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

import numpy as np

from knowledge.database.connection import Database
from knowledge.search.embeddings import GET_SPACE, check_space, model_name_of
from knowledge.search.sentences import (READ_WITH_CANDIDATES, SENTENCE_COLUMNS, StoredSentences, from_columns,
                                        joined)
from knowledge.search.pages import merge_regions, page_region

RRF_K = 60             # reciprocal-rank constant (Cormack et al.), for the "rrf" comparison mode
CANDIDATES = 60        # per candidate list (vector, full-text), before fusion
BM25_WEIGHT = 0.05     # hybrid score = cosine similarity + BM25_WEIGHT * BM25 / best BM25 (see docs/design.md)
SELECTIVE_DF = 0.005   # lexemes in more chunks than this share (and > 50) don't generate candidates
NEAR_DUPLICATE = 0.97  # cosine similarity above which a passage adds nothing to one already chosen
MODES = ("hybrid", "vector", "fulltext", "rrf")

# weights (similarity, bm25, rrf) and which candidate lists each mode draws from; `multilingual`: whether the
# second (multilingual) embedding adds candidates and its similarity counts (when one is configured)
_MODE_PARAMS = {
    "hybrid": dict(use_vector=True, use_text=True, w_sim=1.0, w_bm25=BM25_WEIGHT, w_rrf=0.0, multilingual=True),
    "vector": dict(use_vector=True, use_text=False, w_sim=1.0, w_bm25=0.0, w_rrf=0.0, multilingual=False),
    "fulltext": dict(use_vector=False, use_text=True, w_sim=0.0, w_bm25=1.0, w_rrf=0.0, multilingual=False),
    "rrf": dict(use_vector=True, use_text=True, w_sim=0.0, w_bm25=0.0, w_rrf=1.0, multilingual=False),
}

_FILTERS = """
      AND (%(audiences)s::text[] IS NULL OR c.audience IS NULL OR c.audience = ANY(%(audiences)s::text[]))
      AND (%(document_ids)s::bigint[] IS NULL OR c.document_id = ANY(%(document_ids)s::bigint[]))
      AND c.document_id <> ALL (ARRAY(SELECT document_id FROM out_of_force))"""

# The live versions not in force on the day asked about (as_of; NULL: today): those dated after it, and those a
# later version in force by then has replaced. Only sources with a dated version can have one (a partial index
# finds them), so a knowledge base without dated versions pays one index probe; an InitPlan, computed once per
# statement, so each candidate list's filter (HNSW with iterative scan included) only compares ids.
OUT_OF_FORCE = """
out_of_force AS (
    SELECT d.document_id
    FROM documents d
    WHERE d.status = 'active'
      AND d.source IN (SELECT dated.source FROM documents dated
                       WHERE dated.status = 'active' AND dated.effective_from IS NOT NULL)
      AND (d.effective_from > coalesce(%(as_of)s::date, current_date)
           OR EXISTS (SELECT 1 FROM documents later
                      WHERE later.source = d.source AND later.status = 'active'
                        AND later.effective_from <= coalesce(%(as_of)s::date, current_date)
                        AND later.effective_from > coalesce(d.effective_from, '-infinity'::date)))
),"""
# What a hit says about its version: its number, the date it is in force from (NULL: always) and the date the next
# live version of its source takes over (NULL: none scheduled), so an answer can say which version it quotes.
VERSION_COLUMNS = """d.version, d.effective_from,
       (SELECT min(n.effective_from) FROM documents n
         WHERE n.source = d.source AND n.status = 'active'
           AND n.effective_from > coalesce(d.effective_from, '-infinity'::date)) AS effective_until"""

# One statement, five steps:
# 1. query words -> lexemes; a word never seen in the corpus becomes its nearest known word (trigram
#    similarity), so "vacaton" still finds "vacation"; each lexeme gets its BM25 inverse document frequency.
# 2. candidates: the nearest chunks by HNSW in each embedding space (the configured model's and the
#    multilingual one's), plus chunks sharing a *selective* lexeme with the question (employees' questions
#    rarely contain all the words of the passage that answers them, so lexemes are ORed; very common ones
#    would only make the full-text list slow and noisy).
# 3. each candidate's cosine similarity in both spaces and BM25 score over all the question's lexemes.
# 4. fusion: the better of the two similarities plus a share of normalised BM25 (or reciprocal ranks, for
#    comparison). "The better of" needs no weight: a question in another language has a low similarity to
#    everything in the English-only space and a high one to its answer in the multilingual space; for English
#    questions the two mostly agree, and a passage one model misjudges is rescued by the other
#    (docs/benchmarks.md has the measurements).
# 5. the best candidates' stored sentences and their vectors (knowledge/search/sentences.py), for the sentence
#    re-ranker and the offline answerer's quotes: read here, so no process embeds or caches them.
SEARCH = f"""
WITH {OUT_OF_FORCE}
query_words AS (
    SELECT coalesce(
        (SELECT l.word FROM lexicon l WHERE l.word = w.word),
        (SELECT l.word FROM lexicon l
          WHERE length(w.word) >= 4 AND numnode(plainto_tsquery('english', w.word)) > 0 AND l.word %% w.word
          ORDER BY similarity(l.word, w.word) DESC, l.word LIMIT 1),
        w.word) AS word
    FROM unnest(%(words)s::text[]) AS w(word)
),
query_lexemes AS (
    SELECT DISTINCT lexeme
    FROM query_words, unnest(tsvector_to_array(to_tsvector('english', query_words.word))) AS lexeme
),
weighted AS (
    SELECT q.lexeme, s.chunks AS df, ln(1 + (cs.chunks - s.chunks + 0.5) / (s.chunks + 0.5)) AS idf,
           s.chunks <= greatest(50, cs.chunks * %(selective_df)s) AS selective
    FROM query_lexemes q JOIN lexeme_stats s USING (lexeme), corpus_stats cs
    WHERE s.chunks > 0
),
text_query AS (
    SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | ')) AS q FROM weighted WHERE selective
),
vector_hits AS (
    SELECT c.chunk_id FROM chunks c
    WHERE %(use_vector)s {_FILTERS}
    ORDER BY c.embedding <=> %(embedding)s
    LIMIT %(candidates)s
),
ml_hits AS (
    SELECT c.chunk_id FROM chunks c
    WHERE %(use_ml)s AND c.embedding_ml IS NOT NULL {_FILTERS}
    ORDER BY c.embedding_ml <=> %(ml)s::vector(512)
    LIMIT %(candidates)s
),
text_hits AS (
    SELECT c.chunk_id FROM chunks c, text_query t
    WHERE %(use_text)s AND t.q IS NOT NULL AND c.tsv @@ t.q {_FILTERS}
    ORDER BY ts_rank(c.tsv, t.q) DESC, c.chunk_id
    LIMIT %(candidates)s
),
scored AS MATERIALIZED (
    SELECT c.chunk_id, c.document_id, c.page, c.page_start, c.page_end, c.section, c.text, c.embedding,
           c.page_starts,
           1 - (c.embedding <=> %(embedding)s) AS similarity,
           CASE WHEN %(use_ml)s THEN coalesce(1 - (c.embedding_ml <=> %(ml)s::vector(512)), 0) ELSE 0 END
               AS ml_similarity,
           coalesce((SELECT sum(w.idf * cardinality(u.positions) * 2.2
                                / (cardinality(u.positions) + 1.2 * (0.25 + 0.75 * c.tokens / cs.avg_tokens)))
                     FROM unnest(c.tsv) AS u JOIN weighted w ON w.lexeme = u.lexeme), 0) AS bm25
    FROM (SELECT chunk_id FROM vector_hits UNION SELECT chunk_id FROM ml_hits
          UNION SELECT chunk_id FROM text_hits) candidates
    JOIN chunks c USING (chunk_id),
    (SELECT greatest(tokens::float8 / greatest(chunks, 1), 1) AS avg_tokens FROM corpus_stats) cs
),
fused AS (
    SELECT scored.*,
           %(w_sim)s * greatest(similarity, ml_similarity)
           + %(w_bm25)s * bm25 / greatest(max(bm25) OVER (), 1e-9)
           + %(w_rrf)s * (1.0 / (%(rrf_k)s + rank() OVER (ORDER BY similarity DESC))
                          + CASE WHEN bm25 > 0 THEN 1.0 / (%(rrf_k)s + rank() OVER (ORDER BY bm25 DESC)) ELSE 0 END)
           AS score
    FROM scored
    WHERE %(w_sim)s > 0 OR %(w_rrf)s > 0 OR bm25 > 0
),
best AS (
    SELECT * FROM fused ORDER BY score DESC, chunk_id LIMIT %(limit)s
)
SELECT b.chunk_id, b.document_id, d.source, d.title, b.page, b.page_start, b.page_end, b.section, b.text,
       b.score, b.embedding, d.url, b.page_starts, {VERSION_COLUMNS}, {SENTENCE_COLUMNS}
FROM best b JOIN documents d USING (document_id) {READ_WITH_CANDIDATES}
ORDER BY b.score DESC, b.chunk_id"""
VERSION_AT = 13    # where a row's version, effective_from and effective_until stand
SENTENCES_AT = 16  # where a row's StoredSentences stands once read (search())

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
    url: str | None = None
    page_starts: tuple | None = None  # [offset, page] where each page begins in text (knowledge.search.pages)
    sentences: StoredSentences | None = None  # stored with the passage; read with it
    parts: tuple = ()  # the passages of one page region merged into this result, each as found (merged_with)
    version: int | None = None
    effective_from: date | None = None   # the day this version is in force from (None: always)
    effective_until: date | None = None  # the day the next version of this document takes over (None: none)

    def as_json(self) -> dict[str, Any]:
        """The documented `hrbot search --json` shape: `page` is the page of the sentence that answers (where it
        is known, else the page holding most of the passage), `pages` the passage's first and last page."""
        return {"source": self.source, "page": self.page, "section": self.section, "score": round(self.score, 6),
                "text": self.text, "document_id": self.document_id,
                "pages": [self.page_start, self.page_end] if self.page is not None else None,
                "sections": list(dict.fromkeys(section for _, section in self.section_starts))}

    @property
    def section_starts(self) -> tuple:
        """([offset, section] where each merged passage begins in text): the section of a quote from either."""
        starts, offset = [], 0
        for part in self.parts or (self,):
            starts.append((offset, part.section))
            offset += len(part.text) + len(PART_BREAK)
        return tuple(starts)

    def merged_with(self, other: "Hit") -> "Hit":
        """One result of this passage and `other`, a lower-ranked one of its page region: both texts one after the
        other, the pages and sentences of both, the better score. The section shown stays this one's; a quote's
        section comes from section_starts."""
        offset = len(self.text) + len(PART_BREAK)
        starts = _starts_of(self) + tuple((start + offset, page) for start, page in _starts_of(other))
        bounds = [p for p in (self.page_start, self.page_end, other.page_start, other.page_end) if p is not None]
        return replace(self, text=self.text + PART_BREAK + other.text, score=max(self.score, other.score),
                       page_start=min(bounds, default=None), page_end=max(bounds, default=None),
                       page_starts=starts or None, sentences=joined(self.sentences, other.sentences),
                       parts=(self.parts or (self,)) + (other.parts or (other,)))

    def to_document(self):
        """The hit as a LangChain Document (imported here: searching alone loads no LangChain)."""
        from langchain_core.documents import Document

        # not asdict(): it would deep-copy the sentences' vectors
        metadata = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("text", "parts")}
        return Document(page_content=self.text, metadata={**metadata, "section_starts": self.section_starts})


PART_BREAK = "\n\n"  # between the passages of one merged result


def _starts_of(hit: Hit) -> tuple:
    """A hit's [offset, page] pairs; a passage on one page without them starts there."""
    if hit.page_starts:
        return tuple(hit.page_starts)
    first = hit.page_start if hit.page_start is not None else hit.page
    return ((0, first),) if first is not None else ()


def query_words(query: str) -> list[str]:
    return list(dict.fromkeys(w for w in QUERY_WORD.findall(query.lower()) if len(w) >= 2))[:32]


class HybridSearcher:
    """Searches the knowledge base, checking on every search that the stored vectors came from the configured
    model (`hrbot reembed` may have switched them from another process since)."""

    def __init__(self, db: Database, embeddings, *, one_per_section: bool = True, multilingual=None,
                 multilingual_for=None, reranker=None, rerank_for=None, locator=None, speller=None):
        """`multilingual_for(question) -> bool`: whether a question searches with the multilingual vector too
        (None: every question does, when a multilingual model is there). `reranker(query_vector, rows, text_at,
        section_at, score_at) -> rows`: a second stage over the candidates, for the questions `rerank_for` admits
        (None: all). `locator(query_vector, hit) -> page`: the page of the hit's sentence nearest the question, for
        the questions the re-ranker judged (its sentence vectors are then at hand). `speller.correct(question)`:
        the question with its misspelt words corrected, searched for instead (knowledge/search/spelling.py)."""
        self.db = db
        self.embeddings = embeddings
        self.one_per_section = one_per_section
        self.multilingual = multilingual
        self.multilingual_for = multilingual_for
        self.reranker = reranker
        self.rerank_for = rerank_for
        self.locator = locator
        self.speller = speller

    def corrected(self, query: str) -> str:
        """What to search for: the query with misspelt words corrected (the question shown stays as typed)."""
        return query if self.speller is None else self.speller.correct(query)

    def wants_multilingual(self, question: str) -> bool:
        return self.multilingual is not None and (self.multilingual_for is None or self.multilingual_for(question))

    def search(self, query: str, k: int = 5, *, mode: str = "hybrid", audiences: list[str] | None = None,
               document_ids: list[int] | None = None, embedding: np.ndarray | None = None,
               ml_embedding: np.ndarray | None = None, as_of: date | None = None) -> list[Hit]:
        """as_of: the day whose versions answer (a document's version in force then); None: today's."""
        if mode not in _MODE_PARAMS:
            raise ValueError(f"mode must be one of {MODES}")
        if not query.strip():
            return []
        if embedding is None:  # a caller with its own vectors searched for its corrected query already
            query = self.corrected(query)
            embedding = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        mode_params = dict(_MODE_PARAMS[mode])
        use_ml = mode_params.pop("multilingual") and (ml_embedding is not None or self.wants_multilingual(query))
        if use_ml and ml_embedding is None:
            ml_embedding = np.asarray(self.multilingual.embed_query(query), dtype=np.float32)
        params = {
            "embedding": embedding, "words": query_words(query), "audiences": audiences,
            "document_ids": document_ids, "as_of": as_of, "candidates": max(CANDIDATES, k * 2), "rrf_k": RRF_K,
            "limit": k * 3, "selective_df": SELECTIVE_DF, "use_ml": use_ml,
            "ml": ml_embedding if use_ml else None, "sentences_ml": self.multilingual is not None, **mode_params,
        }
        with self.db.connection() as conn:
            row = conn.execute(GET_SPACE).fetchone()
            if row is None:
                return []  # nothing ingested yet
            check_space(row, model_name_of(self.embeddings), len(embedding))
            rows = [(*row[:SENTENCES_AT], from_columns(*row[SENTENCES_AT:]))
                    for row in conn.execute(SEARCH, params, binary=True).fetchall()]
        reranked = self.reranker is not None and mode == "hybrid" and (self.rerank_for is None
                                                                        or self.rerank_for(query))
        if reranked:
            rows = self.reranker(embedding, rows, text_at=8, section_at=7, score_at=9, sentences_at=SENTENCES_AT)
        hits = _diversify(rows, len(rows))
        if reranked and self.locator is not None:
            hits = [replace(hit, page=self.locator(embedding, hit)) for hit in hits]
        return merge_regions(hits, page_region if self.one_per_section else _page_only)[:k]


def _page_only(hit: Hit) -> tuple | None:
    """The region of a hit when sections are not merged (the no-section-slots variant): its page, if any."""
    return None if hit.page is None else page_region(hit)


def _diversify(rows, k: int) -> list[Hit]:
    """Drop passages that are near-copies of a better-ranked one (two plans' booklets crowd each other out); two
    passages of one page or section are merged afterwards (merge_regions), not dropped."""
    chosen: list[Hit] = []
    vectors: list[np.ndarray] = []
    for row in rows:
        vector = np.asarray(getattr(row[10], "to_numpy", lambda: row[10])(), dtype=np.float32)
        norm = np.linalg.norm(vector) or 1.0
        vector = vector / norm
        if any(float(vector @ v) >= NEAR_DUPLICATE for v in vectors):
            continue
        chosen.append(Hit(*row[:9], float(row[9]), row[11], _pairs(row[12]), row[SENTENCES_AT],
                          version=row[VERSION_AT], effective_from=row[VERSION_AT + 1],
                          effective_until=row[VERSION_AT + 2]))
        vectors.append(vector)
        if len(chosen) == k:
            break
    return chosen


def _pairs(page_starts) -> tuple | None:
    return tuple(tuple(pair) for pair in page_starts) if page_starts else None
