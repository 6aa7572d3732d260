"""Document loaders: bytes of a PDF, DOCX, Markdown, HTML or text file -> title and blocks (paragraphs, list items,
whole tables) with page and heading path (knowledge.documents.blocks). parse() picks the loader and turns whatever
a parser raises into a reason; PDFs are read here (the only module that touches langchain-community, for PDF pages,
so it can be replaced), Word files in word.py, Markdown, HTML and text in markup.py."""
from __future__ import annotations

import logging
import re
import warnings
from dataclasses import replace
from pathlib import PurePath

from knowledge.documents.blocks import MEDIA_TYPES, Block, ParsedDocument, table_block, title_from_name
from knowledge.documents.guards import Budget, Limits, pdf_page_count
from knowledge.documents.markup import parse_html, parse_markdown, parse_text
from knowledge.documents.word import parse_docx
from knowledge.documents.running import furniture_key, running_lines
from knowledge.documents.pdf_layout import COLUMN_TOLERANCE, PdfTable, font_headings, pdf_runs, pdf_tables
from knowledge.documents.text import BULLET, clean, join_lines
from knowledge.errors import DocumentRejected

log = logging.getLogger(__name__)

SUPPORTED = ", ".join(sorted({ext.upper().lstrip(".") for ext in MEDIA_TYPES if ext not in (".markdown", ".htm")}))


def media_type_for(name: str) -> str:
    ext = PurePath(name).suffix.lower()
    if ext not in MEDIA_TYPES:
        shown = ext or "no extension"
        raise DocumentRejected(f"{shown} files are not supported. Upload one of: {SUPPORTED}.")
    return MEDIA_TYPES[ext]


def parse(name: str, data: bytes, limits: Limits | None = None) -> ParsedDocument:
    """Parse a file's bytes. Raises DocumentRejected with a reason a person can act on, whatever the parser
    underneath raised: one file's damage must not stop a batch or show anyone a traceback."""
    media_type = media_type_for(name)
    if not data.strip():
        raise DocumentRejected("The file is empty.")
    parser = {
        "application/pdf": _parse_pdf,
        MEDIA_TYPES[".docx"]: parse_docx,
        "text/markdown": parse_markdown,
        "text/html": parse_html,
        "text/plain": parse_text,
    }[media_type]
    limits = limits or Limits()
    try:
        doc = parser(name, data, limits, Budget(PurePath(name).name, limits.seconds))
    except DocumentRejected:
        raise
    except (Exception, RecursionError, MemoryError) as exc:  # lxml, zipfile, pypdf, bs4 each raise their own kinds
        log.warning("could not read %s: %s: %s", name, type(exc).__name__, exc)
        raise _unreadable(media_type, exc) from exc
    # PostgreSQL text cannot hold NUL: a file with one was refused only when its passages were written, after
    # all the embedding, with "the database refused this file" (outside review). It carries no meaning: dropped.
    doc.blocks = [replace(b, text=b.text.replace("\x00", ""), header=b.header.replace("\x00", ""),
                          section=tuple(h.replace("\x00", "") for h in b.section)) if "\x00" in b.text + b.header
                  + "".join(b.section) else b for b in doc.blocks]
    doc.blocks = [b for b in doc.blocks if b.text.strip()]
    if not doc.blocks:
        raise DocumentRejected("No text could be found in the file.")
    doc.title = clean(doc.title) or title_from_name(name)
    return doc


def _unreadable(media_type: str, exc: BaseException) -> DocumentRejected:
    kind = {"application/pdf": "PDF", MEDIA_TYPES[".docx"]: "Word file"}.get(media_type, "file")
    if isinstance(exc, RecursionError):
        why = "it is nested too deeply to read safely"
    elif isinstance(exc, MemoryError):
        why = "reading it needs more memory than this server has"
    else:
        why = f"it looks damaged or unusually built ({type(exc).__name__})"
    return DocumentRejected(f"The {kind} could not be read: {why}. Re-save or re-export it and try again.")


# --- PDF -------------------------------------------------------------------------------------------------

PDF_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+([A-Z][^\n]{1,90})$")


def _parse_pdf(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    if not data.lstrip().startswith(b"%PDF"):
        raise DocumentRejected("This is not a valid PDF (it may be corrupt or another format renamed to .pdf).")
    from pypdf.errors import FileNotDecryptedError, WrongPasswordError

    _check_pages(pdf_page_count(data), limits)  # from the page tree: a 10,000-page file costs 0.4 s, not a minute
    try:
        pages = _pdf_pages(data, name, None, limits, budget)
    except FileNotDecryptedError:
        try:  # owner-password-only PDFs (printing/copying restrictions) open with an empty user password
            pages = _pdf_pages(data, name, "", limits, budget)
        except (FileNotDecryptedError, WrongPasswordError):
            raise DocumentRejected("The PDF is password-protected. Upload a copy without a password.") from None
    texts = [p.page_content or "" for p in pages]
    if not any(t.strip() for t in texts):
        raise DocumentRejected(
            "The PDF has no extractable text (it is probably a scan). Upload a text-based PDF or run OCR first.")
    if _only_running_lines(texts):  # before the layout passes: they would find nothing either
        raise DocumentRejected(
            "Every page holds the same text (a header or footer only), so there is nothing to answer from. "
            "Check that the right file was exported, with its body text.")
    title = str(pages[0].metadata.get("title") or "") if pages else ""
    try:
        blocks = _pdf_blocks(texts, font_headings(data, len(texts), budget), pdf_tables(data, texts, budget))
    finally:
        pdf_runs.cache_clear()  # the runs were only kept for this parse
    if not title:
        title = blocks[0].section[0] if blocks and blocks[0].section else ""
    return ParsedDocument(title=title, media_type="application/pdf", pages=len(texts), blocks=blocks)


def _check_pages(pages: int, limits: Limits, counting: bool = False) -> None:
    """counting: pages read so far, so the whole count is not known, only that it is over the limit."""
    if pages > limits.max_pages:
        has = f"more than {limits.max_pages:,} pages" if counting else f"{pages:,} pages"
        raise DocumentRejected(f"The PDF has {has}; the limit is {limits.max_pages:,} (HRBOT_MAX_PAGES). "
                               "Split it into smaller documents.")


def _pdf_pages(data: bytes, name: str, password: str | None, limits: Limits, budget: Budget) -> list:
    """One parse of the PDF: a Document per page with the file's metadata (title...). Counted and timed page by
    page: a page tree whose /Count understates its pages is stopped at the limit all the same."""
    from langchain_core.documents.base import Blob
    from pypdf.errors import FileNotDecryptedError, WrongPasswordError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.document_loaders.parsers.pdf import PyPDFParser

    parser = PyPDFParser(password=password, mode="page", extraction_mode="plain")
    pages = []
    try:
        for page in parser.lazy_parse(Blob.from_data(data, path=name, mime_type="application/pdf")):
            pages.append(page)
            _check_pages(len(pages), limits, counting=True)
            budget.check()
        return pages
    except (FileNotDecryptedError, WrongPasswordError, DocumentRejected):
        raise
    except Exception as exc:  # pypdf raises many kinds for damaged files
        log.info("unreadable PDF %s: %s", name, exc)
        raise DocumentRejected("The PDF could not be read; it looks corrupt. Re-export it and try again.") from exc


# --- PDF layout: where pypdf's text visitor says each run of text is drawn, in which size and weight ---------

def _only_running_lines(texts: list[str]) -> bool:
    """Every page holds one and the same text, digits and all (a cover repeated on each page, an export that kept
    only a running header): nothing to answer from. Pages that differ only in their figures are text, each its own
    ("t12 perk 12", "Deductible: $500" / "$1,000" were refused as furniture: outside review)."""
    pages = {" ".join(clean(line) for line in text.splitlines() if clean(line)) for text in texts}
    return len(texts) >= 3 and len(pages) == 1


def _pdf_blocks(texts: list[str], layout: list[dict[str, int]] | None = None,
                tables: list[list[PdfTable]] | None = None) -> list[Block]:
    pages = [[clean(line) for line in text.splitlines()] for text in texts]
    layout = layout or [{} for _ in pages]
    tables = tables or [[] for _ in pages]
    boilerplate = running_lines(pages)  # headers, footers, page numbers: never passages
    blocks: list[Block] = []
    section: list[tuple[int, str]] = []  # (level, title)
    open_table: PdfTable | None = None  # the table that ended the page before: it may go on at the top of this one
    for page_no, (text, lines) in enumerate(zip(texts, pages), start=1):
        para: list[str] = []
        at_top = True  # nothing read on this page yet but running headers

        def flush():
            if para:
                blocks.append(Block(join_lines(para), page_no, tuple(t for _, t in section)))
                para.clear()

        for item in _page_items(text, tables[page_no - 1]):
            if isinstance(item, PdfTable):
                table = _continued(item, open_table if at_top else None) or (item if item.named else None)
                if table is not None:
                    flush()
                    blocks.append(table_block([list(row) for row in table.rows[1:]], list(table.rows[0]), page_no,
                                              tuple(t for _, t in section)))
                    open_table, at_top = table, False
                    continue
                item_lines = [clean(line) for line in text[item.start:item.end].splitlines()]  # read as text
            else:
                item_lines = [item]
            for line in item_lines:
                if not line or furniture_key(line) in boilerplate:
                    continue
                open_table, at_top = None, False
                heading = PDF_HEADING.match(line)
                if heading and not line.endswith((".", ",", ";")) and len(line.split()) <= 12:
                    flush()
                    level = heading.group(1).count(".") + 1
                    section = [(lvl, t) for lvl, t in section if lvl < level] + [(level, heading.group(2).strip())]
                    continue
                level = layout[page_no - 1].get(line) if page_no - 1 < len(layout) else None
                if level is not None:  # a heading by its size or weight (most real documents are not numbered)
                    flush()
                    section = [(lvl, t) for lvl, t in section if lvl < level] + [(level, line)]
                    continue
                if BULLET.match(line) or (para and para[-1].endswith((".", ":", "?", "!")) and line[:1].isupper()
                                          and _looks_short(para[-1], lines)):
                    flush()
                para.append(line)
        flush()
    return blocks


def _page_items(text: str, tables: list[PdfTable]) -> list[str | PdfTable]:
    """A page's lines, each table in its place."""
    items: list[str | PdfTable] = []
    at = 0
    for table in sorted(tables, key=lambda t: t.start):
        items += [clean(line) for line in text[at:table.start].splitlines()]
        items.append(table)
        at = table.end
    return items + [clean(line) for line in text[at:].splitlines()]


def _continued(table: PdfTable, previous: PdfTable | None) -> PdfTable | None:
    """A table at the top of a page in the columns of the one that ended the page before is the rest of it: its
    rows go under the earlier names (a repeated names row is left out)."""
    if (previous is None or len(table.columns) != len(previous.columns)
            or any(abs(a - b) > COLUMN_TOLERANCE for a, b in zip(table.columns, previous.columns))):
        return None
    rows = table.rows[1:] if table.rows[0] == previous.rows[0] else table.rows
    return replace(table, rows=previous.rows[:1] + rows, named=True)


def _looks_short(line: str, lines: list[str]) -> bool:
    widest = max((len(x) for x in lines), default=0)
    return len(line) < 0.8 * widest
