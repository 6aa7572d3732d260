"""Ingestion: files -> parsed, chunked, embedded, and stored as a new document version in one transaction."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path, PurePath
from typing import Callable, Iterable

import psycopg

from knowledge.documents import store
from knowledge.documents.versions import effective_in_file, live_versions, without_front_matter
from knowledge.database import audit
from knowledge.documents.chunking import chunk_blocks
from knowledge.database.connection import Database
from knowledge.search import sentences
from knowledge.search.embeddings import embed_in_batches, ensure_space, model_name_of
from knowledge.errors import DatabaseUnavailable, DiskFull, DocumentRejected, NotFound
from knowledge.documents.guards import MB, Limits
from knowledge.documents.blocks import MEDIA_TYPES
from knowledge.documents.loaders import parse

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks in this document)


DISK_FULL_DOCUMENT = ("The database's disk is full, so nothing was changed; the previous version (if any) still answers. "
                      "Free some space where the database keeps its data (HRBOT_DATA_DIR, or your PostgreSQL "
                      "server's volume) and add the file again.")


# An effective date before this is a typo ("0001-01-01"), not a policy: it would put the version in force for every
# day asked about and take the earlier versions out of use.
EARLIEST_EFFECTIVE_YEAR = 1970


@dataclass
class IngestResult:
    source: str
    status: str               # added | replaced | unchanged | rejected | failed | skipped
    title: str | None = None
    document_id: int | None = None
    version: int | None = None
    pages: int | None = None
    chunks: int = 0
    reason: str | None = None
    seconds: float = 0.0
    effective_from: date | None = None  # the day this version is in force from (None: since always)

    def as_dict(self) -> dict:
        return asdict(self)


def embedding_text(title: str, section: str, text: str) -> str:
    """What the model sees: the heading path gives a short passage its context."""
    heading = f"{title} - {section}" if section else title
    return f"{heading}\n{text}"


def normalise_audience(audience: str | None) -> str | None:
    if audience is None or not audience.strip() or audience.strip().lower() in ("all", "everyone"):
        return None
    return audience.strip().upper()


class Ingestor:
    def __init__(self, db: Database, embeddings, *, max_bytes: int, max_chunks: int = 5000, max_pages: int = 1500,
                 max_unzipped_bytes: int = 50 * MB, max_zip_ratio: float = 100.0, parse_seconds: float = 60.0,
                 multilingual=None):
        self.db = db
        self.embeddings = embeddings
        self.multilingual = multilingual
        self.max_bytes = max_bytes
        self.max_chunks = max_chunks
        self.max_pages = max_pages
        self.limits = Limits(max_pages=max_pages, max_unzipped_bytes=max_unzipped_bytes, max_zip_ratio=max_zip_ratio,
                             seconds=parse_seconds)
        self.today: Callable[[], date] = date.today  # which version an undated file corrects (tests set a day)

    def ingest_bytes(self, name: str, data: bytes, *, audience: str | None = None, uploaded_by: str | None = None,
                     url: str | None = None, progress: Progress | None = None,
                     source: str | None = None, effective: date | None = None) -> IngestResult:
        """Ingest one file's content under its file name (or `source`, a caller's own key such as a path inside
        a synced folder). The content is parsed by what it is (parse_as), not by the name it is kept under: a web
        page's name is fixed before its Content-Type is seen. Never raises for a bad file: it is 'rejected'.
        effective: the day this version takes effect (else a Markdown/text file's front matter `effective:`, else
        none): a version for another day is added beside the others; an undated file replaces the version in
        force today (knowledge/documents/versions.py)."""
        started = time.perf_counter()
        source = source or PurePath(name).name
        audience = normalise_audience(audience)
        try:
            effective = effective or effective_in_file(name, data)
            data = without_front_matter(name, data)
            result = self._ingest(source, data, audience, uploaded_by, url, progress, parse_as(name, source, data),
                                  effective)
        except DocumentRejected as exc:
            result = IngestResult(source, "rejected", reason=str(exc))
        except DiskFull:
            result = IngestResult(source, "failed", reason=DISK_FULL_DOCUMENT)
        except psycopg.DatabaseError as exc:
            if isinstance(exc, psycopg.OperationalError):
                raise DatabaseUnavailable("The database stopped answering; nothing was changed.") from exc
            log.exception("storing %s failed; its transaction was rolled back", source)
            result = IngestResult(source, "failed", reason=(
                "The database refused this file, so nothing was changed; the previous version (if any) still "
                "answers. Details are in the log."))
        result.seconds = round(time.perf_counter() - started, 3)
        if result.status != "unchanged":
            try:
                audit.record(self.db, uploaded_by or "unknown", "ingest", source, status=result.status,
                             version=result.version, chunks=result.chunks, reason=result.reason,
                             effective_from=result.effective_from.isoformat() if result.effective_from else None)
            except DatabaseUnavailable:
                log.warning("could not audit the ingestion of %s", source)
        return result

    def _ingest(self, source, data, audience, uploaded_by, url, progress, parse_name, effective) -> IngestResult:
        if len(data) > self.max_bytes:
            raise DocumentRejected(
                f"The file is {len(data) / 1048576:.1f} MB; the limit is {self.max_bytes / 1048576:.0f} MB. "
                "Split it into smaller documents.")
        sha256 = hashlib.sha256(data).hexdigest()
        today = self.today()
        if effective is not None and effective.year < EARLIEST_EFFECTIVE_YEAR:
            raise DocumentRejected(f"The effective date {effective:%Y-%m-%d} is before {EARLIEST_EFFECTIVE_YEAR}: "
                                   "check the year. Nothing was changed.")
        with self.db.connection() as conn:
            stored = store.slot_document(conn, source, None, today, sha256) if effective is not None else None
            if stored is not None and stored[1] == sha256 and stored[7] != effective:
                raise DocumentRejected(
                    f"This file is already stored as version {stored[2]} of {source}, in force "
                    f"{'from ' + stored[7].isoformat() if stored[7] else 'since always'}. To move it to "
                    f"{effective:%Y-%m-%d}, remove that version (hrbot remove {source} --version {stored[2]}) and "
                    "upload it again with the date. Nothing was changed.")
            current = store.slot_document(conn, source, effective, today, sha256)
            if current is None:  # a new dated version: for whom it is, as the version in force today says
                current_audience = (store.slot_document(conn, source, None, today) or (None,) * 4)[3]
            else:
                current_audience = current[3]
        if current is not None and current[1] == sha256:
            document_id, _, version, stored_audience, title, chunk_count, pages, effective_from = current
            if audience is not None and audience != stored_audience:
                with self.db.connection() as conn:
                    store.set_audience(conn, document_id, audience)
            return IngestResult(source, "unchanged", title, document_id, version, pages, chunk_count,
                                reason="already up to date", effective_from=effective_from)

        # by what it is (parse_name), and the page limit is the loader's: it knows before reading pages
        parsed = parse(parse_name, data, self.limits)
        chunks = chunk_blocks(parsed.blocks)
        if not chunks:
            raise DocumentRejected("No text could be found in the file.")
        if len(chunks) > self.max_chunks:  # bytes say little: 20 MB of plain text is 26,000 passages
            raise DocumentRejected(f"The file would become {len(chunks):,} passages; the limit is "
                                   f"{self.max_chunks:,}. Split it into smaller documents.")
        if progress:
            progress(0, len(chunks))  # the size of the job, before it starts
        texts = [embedding_text(parsed.title, c.section, c.text) for c in chunks]
        vectors = embed_in_batches(self.embeddings, texts, progress)
        ml_vectors = embed_in_batches(self.multilingual, texts) if self.multilingual is not None else None
        # each passage's sentences, embedded now and stored with it: answering reads them, never embeds them
        passage_sentences = sentences.embed(
            [sentences.split(c.text, c.section, page_start=c.page_start, page_end=c.page_end,
                             page_starts=sentences.page_starts_of(c)) for c in chunks],
            self.embeddings, self.multilingual)
        model = model_name_of(self.embeddings)
        with self.db.connection() as conn:
            ensure_space(conn, model, vectors.shape[1])
            new, old_id = store.replace_document(
                conn, source=source, title=parsed.title, media_type=parsed.media_type, sha256=sha256,
                audience=audience if audience is not None else current_audience,
                pages=parsed.pages, size=len(data), uploaded_by=uploaded_by, url=url, chunks=chunks,
                vectors=vectors, ml_vectors=ml_vectors, effective=effective, today=today)
            if old_id != new.document_id:
                sentences.write_document(conn, new.document_id, [c.ordinal for c in chunks], passage_sentences)
        if old_id == new.document_id:  # a concurrent upload of the same content finished first
            return IngestResult(source, "unchanged", parsed.title, new.document_id, new.version, parsed.pages,
                                len(chunks), reason="already up to date", effective_from=new.effective_from)
        log.info("ingested %s v%s (in force from %s): %d chunks", source, new.version, new.effective_from or "always",
                 len(chunks))
        return IngestResult(source, "replaced" if old_id else "added", parsed.title, new.document_id,
                            new.version, parsed.pages, len(chunks), effective_from=new.effective_from)

    def ingest_paths(self, paths: Iterable[Path], *, audience: str | None = None, uploaded_by: str | None = None,
                     progress_for: Callable[[Path], Progress | None] | None = None,
                     source_of: Callable[[Path], str] | None = None,
                     effective: date | None = None) -> list[IngestResult]:
        """Ingest files and folders (recursively, supported types only). One bad file does not stop the rest.
        Each is stored under its file name, or source_of(path) when given; effective: as in ingest_bytes."""
        results = []
        files, skipped = scan(paths)
        for path, reason in skipped:
            results.append(IngestResult(source_of(path) if source_of else path.name, "skipped", reason=reason))
        for path in files:
            source = source_of(path) if source_of else path.name
            if not path.is_file():
                results.append(IngestResult(source, "rejected", reason=f"{path} does not exist."))
                continue
            size = path.stat().st_size
            if size > self.max_bytes:
                # don't read a huge file into memory just to refuse it
                results.append(IngestResult(source, "rejected", reason=(
                    f"The file is {size / 1048576:.1f} MB; the limit is {self.max_bytes / 1048576:.0f} MB. "
                    "Split it into smaller documents.")))
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:  # unreadable (permissions, a share gone away): this file only
                results.append(IngestResult(source, "rejected", reason=f"{path} could not be read ({exc.strerror})."))
                continue
            progress = progress_for(path) if progress_for else None
            results.append(self.ingest_bytes(path.name, data, audience=audience,
                                             uploaded_by=uploaded_by, progress=progress, source=source,
                                             effective=effective))
        return results

    def remove(self, source: str, actor: str = "unknown", version: int | None = None,
               uploaded_by: str | None = None) -> int:
        """Retire a document's live versions now (or only `version`; or only those `uploaded_by` put there: a
        source retiring what it no longer lists leaves the versions an admin uploaded under the same name): the
        next search cannot return them. A version retired from between two others leaves the earlier one in force
        until the later one's date. Returns the last document id retired."""
        with self.db.connection() as conn:
            conn.execute(store.SOURCE_LOCK, {"source": source})
            versions = [v for v in live_versions(conn, source, uploaded_by) if version is None or v[1] == version]
            if not versions:
                raise NotFound(f"No document named {source!r} is in the knowledge base." if version is None else
                               f"{source!r} has no live version {version} (`hrbot docs` lists its versions).")
            for document_id, number, effective_from in versions:
                store.retire(conn, document_id, status="removed")
                audit.audit(conn, actor, "remove", source, document_id=document_id, version=number,
                            effective_from=effective_from.isoformat() if effective_from else None)
        return versions[-1][0]

    def set_audience(self, document_id: int, audience: str | None, actor: str) -> bool:
        """False, changing nothing, when the document was replaced or removed since document_id was shown."""
        with self.db.connection() as conn:
            if not store.set_audience(conn, document_id, normalise_audience(audience)):
                return False
            audit.audit(conn, actor, "set_audience", str(document_id), audience=normalise_audience(audience))
        return True


DOCX_MAIN_PART = b"word/document.xml"


def parse_as(name: str, source: str, data: bytes) -> str:
    """The name to parse `data` under: `source` with the extension of what the bytes are. The bytes decide for
    the formats that announce themselves (%PDF-, a zip holding word/document.xml); otherwise the extension of
    `name` (a fetched page's, taken from its Content-Type) when it is one we read, else `source`'s own. A web
    page served at /policy without an extension is kept as policy.html, yet a PDF there must be read as a PDF,
    not as HTML whose text is the raw bytes."""
    if data.lstrip()[:5] == b"%PDF-":
        suffix = ".pdf"
    elif data[:4] == b"PK\x03\x04" and DOCX_MAIN_PART in data:
        suffix = ".docx"
    elif PurePath(name).suffix.lower() in MEDIA_TYPES:
        suffix = PurePath(name).suffix.lower()
    else:
        return source
    own = PurePath(source).suffix.lower()
    if own == suffix:
        return source
    return source[:-len(own)] + suffix if own in MEDIA_TYPES else source + suffix


SECRET_NAME = re.compile(r"(^|[._-])(env|secrets?|credentials?|passwords?|passwd|id_rsa|id_ed25519|private[._-]?key"
                         r"|tokens?|api[._-]?keys?)([._-]|$)", re.I)


def scan(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files as given; folders expanded to their supported files in a stable order, without following links
    out of the folder, without hidden files and without files named like secrets. Returns (files, skipped with
    the reason): an admin should know what was left out."""
    out: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            out.append(path)
            continue
        root = path.resolve()
        found = []
        for folder, dirs, names in os.walk(path, followlinks=False):
            here = Path(folder)
            for name in list(dirs):
                if name.startswith(".") or (here / name).is_symlink():
                    dirs.remove(name)  # hidden folders and linked folders are not walked into
                    if (here / name).is_symlink():
                        skipped.append((here / name, "a link to a folder; linked folders are not synced"))
            for name in names:
                file = here / name
                if name.startswith(".") or file.suffix.lower() not in MEDIA_TYPES:
                    continue
                if SECRET_NAME.search(file.stem):
                    skipped.append((file, "its name looks like a secret (keys, tokens, passwords, .env); "
                                          "rename it if it really is a policy"))
                elif file.is_symlink() and not file.resolve().is_relative_to(root):
                    skipped.append((file, "a link to a file outside the folder"))
                elif file.is_file():
                    found.append(file)
        out.extend(sorted(found))
    return out, skipped


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """The files scan() would ingest."""
    return scan(paths)[0]


def summarise(results: list[IngestResult], seconds: float) -> dict:
    ok = [r for r in results if r.status in ("added", "replaced")]
    return {
        "documents": len(results),
        "added": sum(r.status == "added" for r in results),
        "replaced": sum(r.status == "replaced" for r in results),
        "unchanged": sum(r.status == "unchanged" for r in results),
        "rejected": sum(r.status in ("rejected", "failed") for r in results),
        "pages": sum(r.pages or 0 for r in ok),
        "chunks": sum(r.chunks for r in ok),
        "seconds": round(seconds, 2),
    }

