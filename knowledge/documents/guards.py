"""Bounds on what one file may cost to read, checked before the expensive part: a small file can hold a great deal
(a 61 kB .docx of 8 MB of XML, a 3 MB PDF of 10,000 pages, an XML entity declaration that expands to gigabytes).
The limits are read from the file's structure (the zip's directory, the PDF's page tree) without parsing its
content; a time budget per file stops the rest cooperatively, between pages, paragraphs or blocks (no signals:
ingestion also runs in the bot's worker threads)."""
from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass

from knowledge.errors import DocumentRejected, ParseTooSlow

MB = 1024 * 1024
RATIO_FROM_BYTES = 1 * MB  # a smaller part cannot cost much however well it compresses
DECLARATIONS = tuple(marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY")
                     for encoding in ("utf-8", "utf-16-le", "utf-16-be"))


@dataclass(frozen=True)
class Limits:
    """The defaults are the settings' defaults (HRBOT_MAX_PAGES, HRBOT_MAX_UNZIPPED_MB, HRBOT_MAX_ZIP_RATIO,
    HRBOT_PARSE_SECONDS)."""

    max_pages: int = 1500
    max_unzipped_bytes: int = 50 * MB
    max_zip_ratio: float = 100.0
    seconds: float = 60.0


class Budget:
    """The time one file may take to read. check() is called between units of work (a page, a paragraph, a
    block): a parser that never returns between them is bounded by the size limits instead."""

    def __init__(self, name: str, seconds: float):
        self.name, self.seconds = name, seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise ParseTooSlow(
                f"Reading {self.name} took longer than {self.seconds:g} s (the limit, HRBOT_PARSE_SECONDS), so it "
                "was stopped. Split it into smaller documents, or re-save it: a fresh export often drops what "
                "makes a file slow to read.")


def check_package(data: bytes, limits: Limits, what: str = "Word file") -> None:
    """A zip-based document (.docx) before any XML in it is parsed: its parts' sizes as its directory declares
    them (zipfile never inflates a part past its declared size), each large part's compression ratio, and no
    DOCTYPE or ENTITY declaration in any XML part: Office never writes one, and one is how a 'billion laughs'
    attack expands a few bytes into gigabytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise DocumentRejected(f"The {what} could not be opened; it looks corrupt or is not a .docx file.") from exc
    total = sum(part.file_size for part in parts)
    if total > limits.max_unzipped_bytes:
        raise DocumentRejected(
            f"The {what} unpacks to {total / MB:,.0f} MB; the limit is {limits.max_unzipped_bytes / MB:,.0f} MB "
            "(HRBOT_MAX_UNZIPPED_MB). Split it into smaller documents.")
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size >= RATIO_FROM_BYTES and ratio > limits.max_zip_ratio:
            raise DocumentRejected(
                f"The {what} is packed unusually tightly: its part {part.filename} unpacks {ratio:,.0f} times "
                f"larger ({part.file_size / MB:,.1f} MB); the limit is {limits.max_zip_ratio:g} times "
                "(HRBOT_MAX_ZIP_RATIO). Real documents stay far below it; re-save the file from Word, or split it.")
    for part in parts:
        if part.filename.lower().endswith((".xml", ".rels")) and _declares_entities(archive, part):
            raise DocumentRejected(
                f"The {what} contains XML entity declarations (a possible 'billion laughs' attack), which Word "
                "never writes, so it was not read. Re-save it from Word and upload it again.")


def _declares_entities(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> bool:
    """A declaration sits in the prolog, before the root element, but a prolog can be padded: the whole part is
    searched (at most the unzipped limit, already checked)."""
    try:
        xml = archive.read(part)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise DocumentRejected("The Word file could not be opened; one of its parts is damaged "
                               f"({part.filename}).") from exc
    return any(marker in xml for marker in DECLARATIONS)


def pdf_page_count(data: bytes) -> int:
    """The page count the PDF's page tree declares (/Root /Pages /Count), read without parsing any page. A file
    whose tree cannot be read says 0 here and is left to the full parse (which has its own messages)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")  # owner-password-only files; with a user password the count stays unknown
        return max(int(reader.trailer["/Root"]["/Pages"]["/Count"]), 0)
    except Exception:  # noqa: BLE001 - damaged files are reported by the parse that follows
        return 0
