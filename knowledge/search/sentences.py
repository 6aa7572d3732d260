"""Each stored passage's sentences and their vectors (table passage_sentences, migration 0019): split and embedded
once when the passage is stored, read with the search candidates (retrieval.py), kept in step by `hrbot reembed`
and filled in by the worker for passages stored before. A process holds none of them between questions.

The re-ranker and the offline answerer's quotes judge a passage by its single sentences; where a passage's
sentences are not stored yet they are embedded on the fly, uncached, and that is logged once per process."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
from pgvector import HalfVector

from knowledge.documents.chunking import split_sentences
from knowledge.search.embeddings import ArrayEmbeddings, embed_in_batches

log = logging.getLogger(__name__)

LIST_ITEM = re.compile(r"^\s*([-*•]|\d{1,2}[.)])\s+|\s\|\s")
# Sentences stored a passage: a real passage of MAX_WORDS words has about 10 (40 short list items at most); the rest
# of a passage made of thousands of one-word "sentences" (a hostile or broken document: "Ab. Ab. Ab. ...") is kept
# as its last one, so the embedding work of storing a passage stays bounded by the passage count the ingest limits.
MAX_SENTENCES = 32


def in_context(sentence: str, heading: str) -> str:
    """What a sentence means on its own: a list item or a table row ("- Crowns, bridges and dentures: 50%") takes
    its meaning from the heading above it, so it is read with it; a whole sentence is read as it is."""
    return f"{heading}: {sentence}" if heading and LIST_ITEM.search(sentence) else sentence


def heading_of(section: str) -> str:
    return (section or "").split(" > ")[-1]


def passage_sentences(text: str, section: str) -> list[tuple[str, str]]:
    """A passage's quotable sentences, each with the text its meaning is judged on (in_context). Lines are
    paragraphs or list items: a quote never runs across them."""
    return [(s.text, s.judged) for s in split(text, section)]


@dataclass(frozen=True)
class Sentence:
    position: int
    text: str          # as quoted
    judged: str        # what its vector is of: the sentence in context
    page: int | None   # where it starts, when known


def split(text: str, section: str, *, page_start: int | None = None, page_end: int | None = None,
          page_starts: list | None = None) -> list[Sentence]:
    """The sentences of a passage, in order. A sentence's page: from `page_starts` ([offset, page] pairs, the
    chunk's own record of where each page begins) when given, else the passage's page when it lies on one."""
    heading = heading_of(section)
    starts = sorted((int(offset), int(page)) for offset, page in page_starts or [])
    single = page_start if page_start is not None and page_start == page_end else None
    found: list[Sentence] = []
    line_at = 0
    for line in text.split("\n"):
        cursor = 0
        for sentence in split_sentences(line):
            at = line.find(sentence, cursor)
            cursor = at + len(sentence) if at >= 0 else cursor
            offset = line_at + max(at, 0)
            page = next((p for o, p in reversed(starts) if o <= offset), None) if starts else single
            found.append(Sentence(len(found), sentence, in_context(sentence, heading), page))
        line_at += len(line) + 1
    if len(found) > MAX_SENTENCES:
        last = found[MAX_SENTENCES - 1]
        rest = " ".join(s.text for s in found[MAX_SENTENCES - 1:])
        found = found[:MAX_SENTENCES - 1] + [Sentence(last.position, rest, in_context(rest, heading), last.page)]
    return found


def page_starts_of(chunk) -> list | None:
    """The chunk's `page_starts`, wherever the chunker keeps it (an attribute or its metadata)."""
    found = getattr(chunk, "page_starts", None)
    if found is None:
        found = (getattr(chunk, "metadata", None) or {}).get("page_starts")
    return found


@dataclass(frozen=True)
class StoredSentences:
    """One passage's sentences as read with it: texts and pages in order, and their unit vectors per space (None
    where that space's vectors are not stored)."""
    texts: list[str]
    pages: list
    vectors: dict

    def quotable(self, section: str) -> list[tuple[str, str]]:
        heading = heading_of(section)
        return [(text, in_context(text, heading)) for text in self.texts]


def joined(first: StoredSentences | None, second: StoredSentences | None) -> StoredSentences | None:
    """The sentences of two passages merged into one result, in order; None unless both are stored."""
    if first is None or second is None:
        return None
    vectors = {space: None if first.vectors.get(space) is None or second.vectors.get(space) is None
               else np.vstack([first.vectors[space], second.vectors[space]]) for space in first.vectors}
    return StoredSentences(first.texts + second.texts, first.pages + second.pages, vectors)


# Appended to the search statement's final SELECT (retrieval.py): the candidates' sentences in the same round
# trip. `b` is a candidate chunk; %(sentences_ml)s says whether the multilingual vectors are wanted.
READ_WITH_CANDIDATES = """
LEFT JOIN LATERAL (
    SELECT array_agg(ps.text ORDER BY ps.position) AS texts, array_agg(ps.page ORDER BY ps.position) AS pages,
           array_agg(ps.embedding ORDER BY ps.position) AS vectors,
           CASE WHEN %(sentences_ml)s THEN array_agg(ps.embedding_ml ORDER BY ps.position) END AS ml_vectors
    FROM passage_sentences ps WHERE ps.chunk_id = b.chunk_id) sentences ON true"""
SENTENCE_COLUMNS = "sentences.texts, sentences.pages, sentences.vectors, sentences.ml_vectors"


def _matrix(halfvecs) -> np.ndarray | None:
    if not halfvecs or any(v is None for v in halfvecs):
        return None
    matrix = np.vstack([v.to_numpy() for v in halfvecs]).astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)  # halfvec rounding


def from_columns(texts, pages, vectors, ml_vectors) -> StoredSentences | None:
    """The four SENTENCE_COLUMNS of one candidate, as read; None when its sentences are not stored yet."""
    if not texts:
        return None
    return StoredSentences(list(texts), list(pages), {"primary": _matrix(vectors), "multilingual": _matrix(ml_vectors)})


_warned = False


def embed_unstored(model, texts: list[str]) -> np.ndarray:
    """Vectors for sentences that are not stored yet (passages stored before migration 0019 until the worker fills
    them): embedded now, kept nowhere. Logged once per process."""
    global _warned
    if not _warned:
        _warned = True
        log.warning("some passages have no stored sentence vectors yet: embedding their sentences while answering "
                    "(the worker's complete_vectors job, or `hrbot reembed`, stores them)")
    return model.embed_array(texts)


# --- writing -----------------------------------------------------------------------------------------------------

COPY_SENTENCES = """
COPY passage_sentences (chunk_id, position, text, page, embedding, embedding_ml) FROM STDIN WITH (FORMAT BINARY)"""
SENTENCE_COPY_TYPES = ["int8", "int4", "text", "int4", "halfvec", "halfvec"]
CHUNK_IDS = "SELECT ordinal, chunk_id FROM chunks WHERE document_id = %(document_id)s"


@dataclass
class Embedded:
    """Passages' sentences with their vectors, ready to be written: `sentences[i]` are passage i's; the vectors
    are row-aligned with all sentences in that order (None: that space is not stored)."""
    sentences: list[list[Sentence]]
    vectors: np.ndarray | None
    ml_vectors: np.ndarray | None

    def __len__(self) -> int:
        return sum(map(len, self.sentences))


def stores_primary(embeddings) -> bool:
    """Whether sentences get the primary model's vectors: when it returns arrays (the re-ranker's condition)."""
    return isinstance(embeddings, ArrayEmbeddings)


def embed(sentences: list[list[Sentence]], embeddings, multilingual=None, progress=None) -> Embedded:
    """All passages' sentences embedded in batches, on the bulk path, in each space that is stored."""
    judged = [s.judged for group in sentences for s in group]
    vectors = embed_in_batches(embeddings, judged, progress) if stores_primary(embeddings) and judged else None
    ml_vectors = embed_in_batches(multilingual, judged) if multilingual is not None and judged else None
    return Embedded(sentences, vectors, ml_vectors)


def write(conn, chunk_ids: list[int], embedded: Embedded) -> int:
    """COPY the sentences of the passages `chunk_ids` (aligned with embedded.sentences) in the caller's
    transaction. Returns how many rows."""
    row = 0
    with conn.cursor() as cur, cur.copy(COPY_SENTENCES) as copy:
        copy.set_types(SENTENCE_COPY_TYPES)
        for chunk_id, group in zip(chunk_ids, embedded.sentences):
            for sentence in group:
                copy.write_row((chunk_id, sentence.position, sentence.text, sentence.page,
                                _half(embedded.vectors, row), _half(embedded.ml_vectors, row)))
                row += 1
    return row


def _half(vectors: np.ndarray | None, row: int) -> HalfVector | None:
    return None if vectors is None else HalfVector(vectors[row])


def write_document(conn, document_id: int, ordinals: list[int], embedded: Embedded) -> int:
    """The sentences of a document just stored (its chunks by ordinal), in the same transaction."""
    ids = dict(conn.execute(CHUNK_IDS, {"document_id": document_id}).fetchall())
    return write(conn, [ids[o] for o in ordinals], embedded)


# --- filling in and keeping in step ------------------------------------------------------------------------------

MISSING = """
SELECT c.chunk_id, c.section, c.text, c.page_start, c.page_end FROM chunks c
WHERE c.chunk_id > %(after)s AND NOT EXISTS (SELECT 1 FROM passage_sentences s WHERE s.chunk_id = c.chunk_id)
ORDER BY c.chunk_id LIMIT %(limit)s"""
COUNT_MISSING = """
SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM passage_sentences s WHERE s.chunk_id = c.chunk_id)"""
# The passages still there and still without sentences, held until commit so none is deleted meanwhile.
STILL_MISSING = """
SELECT c.chunk_id FROM chunks c
WHERE c.chunk_id = ANY(%(ids)s) AND NOT EXISTS (SELECT 1 FROM passage_sentences s WHERE s.chunk_id = c.chunk_id)
FOR KEY SHARE OF c"""
STORED_FOR = """
SELECT s.chunk_id, s.position, s.text, c.section FROM passage_sentences s JOIN chunks c USING (chunk_id)
WHERE s.chunk_id = ANY(%(ids)s) AND s.embedding_ml IS NULL ORDER BY s.chunk_id, s.position"""
SET_ML = """
UPDATE passage_sentences SET embedding_ml = %(vector)s
WHERE chunk_id = %(chunk_id)s AND position = %(position)s"""


def missing(conn) -> int:
    """How many passages have no stored sentences (`hrbot doctor`, `hrbot db status`)."""
    return conn.execute(COUNT_MISSING).fetchone()[0]


def fill(db, embeddings, multilingual=None, *, batch: int = 256, progress=None) -> int:
    """Store the sentences of every passage that has none (stored before migration 0019), a batch of passages per
    transaction so answering goes on. Returns how many passages were filled."""
    from knowledge.search.embeddings import SPACE_LOCK_SHARED

    done, after = 0, 0
    while True:
        with db.owner.connection() as conn:
            rows = conn.execute(MISSING, {"after": after, "limit": batch}).fetchall()
        if not rows:
            return done
        after = rows[-1][0]
        embedded = embed([split(text, section, page_start=start, page_end=end)
                          for _, section, text, start, end in rows], embeddings, multilingual)
        with db.owner.connection() as conn:
            conn.execute(SPACE_LOCK_SHARED)  # `hrbot reembed` swaps the model under this lock, exclusively
            still = {chunk_id for (chunk_id,) in conn.execute(STILL_MISSING, {"ids": [r[0] for r in rows]})}
            keep = [i for i, row in enumerate(rows) if row[0] in still]
            if keep:
                write(conn, [rows[i][0] for i in keep], _select(embedded, keep))
        done += len(keep)
        if progress:
            progress(done, done)


def _select(embedded: Embedded, keep: list[int]) -> Embedded:
    bounds = np.cumsum([0] + [len(g) for g in embedded.sentences])
    rows = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in keep]).astype(int)
    pick = lambda v: None if v is None else v[rows]  # noqa: E731
    return Embedded([embedded.sentences[i] for i in keep], pick(embedded.vectors), pick(embedded.ml_vectors))


def add_multilingual(conn, chunk_ids: list[int], multilingual) -> int:
    """The multilingual vectors of stored sentences that lack them, for the passages `chunk_ids` (which have just
    been given theirs: complete_vectors), in the caller's transaction."""
    rows = conn.execute(STORED_FOR, {"ids": chunk_ids}).fetchall()
    if not rows:
        return 0
    vectors = embed_in_batches(multilingual, [in_context(text, heading_of(section)) for _, _, text, section in rows])
    with conn.cursor() as cur:
        cur.executemany(SET_ML, [{"chunk_id": c, "position": p, "vector": HalfVector(v)}
                                 for (c, p, _, _), v in zip(rows, vectors)])
    return len(rows)


ALL_STORED = """
SELECT s.chunk_id, s.position, s.text, c.section FROM passage_sentences s JOIN chunks c USING (chunk_id)
ORDER BY s.chunk_id, s.position"""
STAGE = "CREATE TEMP TABLE resentenced (chunk_id bigint, position int, embedding halfvec, PRIMARY KEY (chunk_id, position)) ON COMMIT DROP"
COPY_STAGE = "COPY resentenced (chunk_id, position, embedding) FROM STDIN WITH (FORMAT BINARY)"
APPLY_STAGE = """
UPDATE passage_sentences s SET embedding = r.embedding FROM resentenced r
WHERE r.chunk_id = s.chunk_id AND r.position = s.position"""
NOT_STAGED = """
SELECT s.chunk_id, s.position, s.text, c.section FROM passage_sentences s JOIN chunks c USING (chunk_id)
WHERE NOT EXISTS (SELECT 1 FROM resentenced r WHERE r.chunk_id = s.chunk_id AND r.position = s.position)"""
CLEAR_PRIMARY = "UPDATE passage_sentences SET embedding = NULL"


def stored_for_reembed(conn) -> list[tuple]:
    """Every stored sentence, for re-embedding with a new model (read before the swap)."""
    return conn.execute(ALL_STORED).fetchall()


def reembed_vectors(embeddings, rows, progress=None) -> np.ndarray:
    return embed_in_batches(embeddings, [in_context(text, heading_of(section)) for _, _, text, section in rows],
                            progress)


def apply_reembed(conn, embeddings, rows, vectors: np.ndarray | None) -> int:
    """Inside `hrbot reembed`'s swap (the space lock held, the column untyped): every stored sentence gets the new
    model's vector, those stored while the bulk was embedded included. A model whose vectors are not stored for
    sentences leaves them without (answers then embed nothing: the re-ranker needs an array model)."""
    if not stores_primary(embeddings):
        conn.execute(CLEAR_PRIMARY)
        return 0
    conn.execute(STAGE)
    if rows:
        _stage(conn, rows, vectors)
    late = conn.execute(NOT_STAGED).fetchall()
    if late:
        _stage(conn, late, reembed_vectors(embeddings, late))
    conn.execute(APPLY_STAGE)
    return len(rows) + len(late)


def _stage(conn, rows, vectors) -> None:
    with conn.cursor() as cur, cur.copy(COPY_STAGE) as copy:
        copy.set_types(["int8", "int4", "halfvec"])
        for (chunk_id, position, *_), vector in zip(rows, vectors):
            copy.write_row((chunk_id, position, HalfVector(vector)))
