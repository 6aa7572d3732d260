"""Re-embedding: move every chunk and its stored sentences to the configured embedding model in one transaction
(never mixed vectors)."""
from __future__ import annotations

import numpy as np

from knowledge.database.connection import Database
from knowledge.search import sentences
from knowledge.search.embeddings import (DROP_HNSW, GET_SPACE, REPLACE_SPACE, SET_SPACE, SPACE_LOCK, UNTYPE_EMBEDDING,
                                  UNTYPE_SENTENCES, embed_in_batches, model_name_of, type_embedding_sql)
from knowledge.documents.ingest import Progress, embedding_text

ALL_CHUNKS = """
SELECT c.chunk_id, d.title, c.section, c.text
FROM chunks c JOIN documents d USING (document_id) ORDER BY c.chunk_id"""
STAGE_TABLE = "CREATE TEMP TABLE reembedded (chunk_id bigint PRIMARY KEY, embedding vector) ON COMMIT DROP"
COPY_STAGE = "COPY reembedded (chunk_id, embedding) FROM STDIN WITH (FORMAT BINARY)"
APPLY_STAGE = "UPDATE chunks c SET embedding = r.embedding FROM reembedded r WHERE r.chunk_id = c.chunk_id"
MISSING_ML = """
SELECT c.chunk_id, d.title, c.section, c.text
FROM chunks c JOIN documents d USING (document_id)
WHERE c.embedding_ml IS NULL ORDER BY c.chunk_id LIMIT %(limit)s"""
SET_ML = "UPDATE chunks SET embedding_ml = %(vector)s WHERE chunk_id = %(chunk_id)s AND embedding_ml IS NULL"


def _embed(embeddings, rows, progress=None) -> np.ndarray:
    return embed_in_batches(embeddings, [embedding_text(title, section, text) for _, title, section, text in rows],
                            progress)


def reembed(db: Database, embeddings, progress: Progress | None = None) -> dict:
    """Embed all chunks with `embeddings`, then swap model, column type and HNSW index atomically.

    The bulk is embedded without a lock, so answering and ingesting go on meanwhile; the swap takes the space
    lock exclusively (ingests hold it shared while they write), then embeds the chunks written meanwhile."""
    with db.owner.connection() as conn:
        rows = conn.execute(ALL_CHUNKS).fetchall()
        sentence_rows = sentences.stored_for_reembed(conn) if sentences.stores_primary(embeddings) else []
    vectors = _embed(embeddings, rows, progress)
    sentence_vectors = sentences.reembed_vectors(embeddings, sentence_rows) if sentence_rows else None
    model = model_name_of(embeddings)
    with db.owner.connection() as conn:
        conn.execute(SPACE_LOCK)
        before = conn.execute(GET_SPACE).fetchone()
        seen = {row[0] for row in rows}
        late = [row for row in conn.execute(ALL_CHUNKS).fetchall() if row[0] not in seen]
        if late:
            rows = rows + late
            vectors = np.vstack([vectors, _embed(embeddings, late)]) if len(vectors) else _embed(embeddings, late)
        dimension = vectors.shape[1] if len(rows) else len(embeddings.embed_query("dimension probe"))
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        conn.execute(DROP_HNSW)
        conn.execute(UNTYPE_EMBEDDING)
        conn.execute(UNTYPE_SENTENCES)
        if rows:
            conn.execute(STAGE_TABLE)
            with conn.cursor() as cur, cur.copy(COPY_STAGE) as copy:
                copy.set_types(["int8", "vector"])
                for (chunk_id, *_), vector in zip(rows, vectors):
                    copy.write_row((chunk_id, vector))
            conn.execute(APPLY_STAGE)
        resentenced = sentences.apply_reembed(conn, embeddings, sentence_rows, sentence_vectors)
        for statement in type_embedding_sql(dimension):
            conn.execute(statement)
        params = {"model": model, "dimension": dimension}
        conn.execute(REPLACE_SPACE if before else SET_SPACE, params)
    return {"chunks": len(rows), "sentences": resentenced, "model": model, "dimension": dimension,
            "previous_model": before[0] if before else None}


def fill_multilingual(db: Database, multilingual, *, batch: int = 256, progress: Progress | None = None) -> int:
    """Give every passage that lacks one its multilingual vector (passages stored before migration 0010, or
    while HRBOT_MULTILINGUAL was off), a batch per transaction so answering goes on. Returns how many."""
    if multilingual is None:
        return 0
    done = 0
    while True:
        with db.owner.connection() as conn:
            rows = conn.execute(MISSING_ML, {"limit": batch}).fetchall()
        if not rows:
            return done
        vectors = _embed(multilingual, rows)
        with db.owner.connection() as conn:
            with conn.cursor() as cur:
                cur.executemany(SET_ML, [{"chunk_id": row[0], "vector": vector} for row, vector in zip(rows, vectors)])
            sentences.add_multilingual(conn, [row[0] for row in rows], multilingual)  # their sentences' too
        done += len(rows)
        if progress:
            progress(done, done)
