"""SQL for documents and chunks: one named, parameterised statement per operation, and the writes that use them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
from psycopg.types.json import Jsonb

from knowledge.documents.chunking import Chunk

# The live version a new file of `source` takes the place of: the one of the same effective date when the file has
# one; else the one in force on `today` (an undated file corrects the policy in force). None: the file adds a version.
SLOT_DOCUMENT = """
SELECT document_id, sha256, version, audience, title, chunk_count, pages, effective_from
FROM documents WHERE source = %(source)s AND status = 'active'
  AND CASE WHEN %(dated)s THEN effective_from = %(effective)s::date
           ELSE coalesce(effective_from, '-infinity'::date) <= %(today)s::date END
ORDER BY coalesce(effective_from, '-infinity'::date) DESC LIMIT 1"""
# A live version of `source` with this content, whatever its date: an undated file already stored as a scheduled or
# earlier version is that version again, not a correction of today's.
SAME_CONTENT = """
SELECT document_id, sha256, version, audience, title, chunk_count, pages, effective_from
FROM documents WHERE source = %(source)s AND status = 'active' AND sha256 = %(sha256)s
ORDER BY coalesce(effective_from, '-infinity'::date) DESC LIMIT 1"""
SOURCE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('hrbot.source:' || %(source)s))"
NEXT_VERSION = "SELECT coalesce(max(version), 0) + 1 FROM documents WHERE source = %(source)s"
RETIRE_DOCUMENT = """
UPDATE documents SET status = %(status)s, retired_at = now()
WHERE document_id = %(document_id)s AND status = 'active'"""
DELETE_CHUNKS = "DELETE FROM chunks WHERE document_id = %(document_id)s"
INSERT_DOCUMENT = """
INSERT INTO documents (source, title, media_type, sha256, version, audience, pages, bytes, chunk_count,
                       uploaded_by, url, effective_from)
VALUES (%(source)s, %(title)s, %(media_type)s, %(sha256)s, %(version)s, %(audience)s, %(pages)s, %(bytes)s,
        %(chunk_count)s, %(uploaded_by)s, %(url)s, %(effective_from)s)
RETURNING document_id"""
COPY_CHUNKS = """
COPY chunks (document_id, ordinal, page, page_start, page_end, section, text, audience, embedding, embedding_ml,
            page_starts)
FROM STDIN WITH (FORMAT BINARY)"""
CHUNK_COPY_TYPES = ["int8", "int4", "int4", "int4", "int4", "text", "text", "text", "vector", "vector", "jsonb"]
ADD_WORDS = "INSERT INTO lexicon (word) SELECT unnest(%(words)s::text[]) ON CONFLICT DO NOTHING"
SET_AUDIENCE = """
UPDATE documents SET audience = %(audience)s WHERE document_id = %(document_id)s AND status = 'active'
RETURNING document_id"""
SET_CHUNK_AUDIENCE = "UPDATE chunks SET audience = %(audience)s WHERE document_id = %(document_id)s"
# Every live version, with its effective date and whether it is the one in force on %(today)s (a source's versions
# one after another, oldest date first).
LIST_DOCUMENTS = """
SELECT document_id, source, title, version, audience, pages, chunk_count, uploaded_by, created_at, url,
       effective_from,
       coalesce(effective_from, '-infinity'::date) <= %(today)s::date AND NOT EXISTS (
           SELECT 1 FROM documents later WHERE later.source = d.source AND later.status = 'active'
             AND coalesce(later.effective_from, '-infinity'::date) > coalesce(d.effective_from, '-infinity'::date)
             AND later.effective_from <= %(today)s::date) AS in_force,
       (SELECT min(later.effective_from) FROM documents later
         WHERE later.source = d.source AND later.status = 'active'
           AND later.effective_from > coalesce(d.effective_from, '-infinity'::date)) AS effective_until
FROM documents d WHERE status = 'active' ORDER BY source, coalesce(effective_from, '-infinity'::date)"""
KB_COUNTS = """
SELECT (SELECT count(DISTINCT source) FROM documents WHERE status = 'active'),
       (SELECT count(*) FROM chunks),
       (SELECT max(created_at) FROM documents)"""

WORD = re.compile(r"[a-z]{3,24}")


@dataclass(frozen=True)
class StoredDocument:
    document_id: int
    version: int
    effective_from: date | None = None


def slot_document(conn, source: str, effective: date | None, today: date, sha256: str | None = None):
    """(document_id, sha256, version, audience, title, chunk_count, pages, effective_from) of the live version a
    new file of `source` for `effective` (None: undated) replaces, or None (the file adds a version). An undated
    file with `sha256` finds the live version with that content first, whatever its date."""
    if effective is None and sha256 is not None:
        same = conn.execute(SAME_CONTENT, {"source": source, "sha256": sha256}).fetchone()
        if same is not None:
            return same
    return conn.execute(SLOT_DOCUMENT, {"source": source, "dated": effective is not None, "effective": effective,
                                        "today": today}).fetchone()


def retire(conn, document_id: int, status: str = "superseded") -> None:
    """Take a version out of service: its chunks go, the row stays for history."""
    conn.execute(RETIRE_DOCUMENT, {"document_id": document_id, "status": status})
    conn.execute(DELETE_CHUNKS, {"document_id": document_id})


def replace_document(conn, *, source: str, title: str, media_type: str, sha256: str, audience: str | None,
                     pages: int | None, size: int, uploaded_by: str | None, url: str | None,
                     chunks: list[Chunk], vectors: np.ndarray,
                     ml_vectors: np.ndarray | None = None, effective: date | None = None,
                     today: date | None = None) -> tuple[StoredDocument, int | None]:
    """Write a new version and retire the one it replaces (slot_document) in the caller's transaction; a version
    for another date stays. Returns (new, old id); when the same content became active while this one was being
    embedded (two uploads of one changed file at once), nothing is written and the stored version comes back with
    old id == its own id. An undated file keeps the effective date of the version it corrects."""
    conn.execute(SOURCE_LOCK, {"source": source})
    old = slot_document(conn, source, effective, today or date.today(), sha256)
    if old is not None and old[1] == sha256:
        return StoredDocument(old[0], old[2], old[7]), old[0]
    if old is not None:
        retire(conn, old[0])
        effective = old[7] if effective is None else effective
    version = conn.execute(NEXT_VERSION, {"source": source}).fetchone()[0]
    document_id = conn.execute(INSERT_DOCUMENT, {
        "source": source, "title": title, "media_type": media_type, "sha256": sha256, "version": version,
        "audience": audience, "pages": pages, "bytes": size, "chunk_count": len(chunks),
        "uploaded_by": uploaded_by, "url": url,
        "effective_from": effective}).fetchone()[0]
    with conn.cursor() as cur:
        with cur.copy(COPY_CHUNKS) as copy:
            copy.set_types(CHUNK_COPY_TYPES)
            for i, (chunk, vector) in enumerate(zip(chunks, vectors)):
                copy.write_row((document_id, chunk.ordinal, chunk.page, chunk.page_start, chunk.page_end,
                                chunk.section, chunk.text, audience, vector,
                                ml_vectors[i] if ml_vectors is not None else None,
                                Jsonb([list(pair) for pair in chunk.page_starts]) if chunk.page_starts else None))
    words = sorted({w for chunk in chunks for w in WORD.findall(chunk.text.lower())})
    conn.execute(ADD_WORDS, {"words": words})
    return StoredDocument(document_id, version, effective), (old[0] if old else None)


def set_audience(conn, document_id: int, audience: str | None) -> bool:
    """False, changing nothing, when document_id is no longer the active version (replaced or removed)."""
    if conn.execute(SET_AUDIENCE, {"document_id": document_id, "audience": audience}).fetchone() is None:
        return False
    conn.execute(SET_CHUNK_AUDIENCE, {"document_id": document_id, "audience": audience})
    return True


def list_documents(conn, today: date | None = None) -> list[dict]:
    """Every live version (several per source when dated versions are scheduled or kept for earlier dates)."""
    cur = conn.execute(LIST_DOCUMENTS, {"today": today or date.today()})
    names = [c.name for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
