"""Document loaders: bytes of a PDF, DOCX, Markdown, HTML or text file -> title and blocks (paragraphs, list items,
whole tables) with page and heading path. The only module that touches langchain-community (for PDF pages), so it
can be replaced."""
from __future__ import annotations

import io
import logging
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import PurePath

from knowledge.documents.guards import Budget, Limits, check_package, pdf_page_count
from knowledge.documents.pdf_layout import COLUMN_TOLERANCE, PdfTable, font_headings, is_column_name, pdf_runs, pdf_tables
from knowledge.documents.text import BULLET, clean, join_lines
from knowledge.errors import DocumentRejected

log = logging.getLogger(__name__)

MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
}
SUPPORTED = ", ".join(sorted({ext.upper().lstrip(".") for ext in MEDIA_TYPES if ext not in (".markdown", ".htm")}))


@dataclass(frozen=True)
class Block:
    """A paragraph, list item or table, with where it sits: page (1-based or None) and heading path. A table is
    one block (table_block): its column names on the first line (`header`), then one line per row with each cell
    named by its column, so chunking can keep it whole or cut it between rows."""

    text: str
    page: int | None
    section: tuple[str, ...] = ()
    table: bool = False
    header: str = ""  # a table's column names ("Service, Covered, Limit"); empty for a table without them

    @property
    def rows(self) -> list[str]:
        lines = self.text.split("\n") if self.table else []
        return lines[1:] if self.header else lines


def table_block(rows: list[list[str]], header: list[str] | None, page: int | None,
                section: tuple[str, ...]) -> Block:
    """A table as one block. With column names, each row reads "Service: Implants | Covered: 50%", so a row quoted
    or retrieved alone keeps its meaning; the names line is comma-joined so it reads as a heading, not a row."""
    if header and not rows:  # a lone row of names is a row
        rows, header = [header], None
    names = [clean(name) for name in header or []]
    lines = [" | ".join(f"{name}: {cell}" if name else cell
                        for name, cell in zip_longest(names, row, fillvalue="") if cell) for row in rows]
    heading = ", ".join(name for name in names if name)
    return Block("\n".join(([heading] if heading else []) + [line for line in lines if line]), page, section,
                 table=True, header=heading)


@dataclass
class ParsedDocument:
    title: str
    media_type: str
    pages: int | None
    blocks: list[Block] = field(default_factory=list)


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
        MEDIA_TYPES[".docx"]: _parse_docx,
        "text/markdown": _parse_markdown,
        "text/html": _parse_html,
        "text/plain": _parse_text,
    }[media_type]
    limits = limits or Limits()
    try:
        doc = parser(name, data, limits, Budget(PurePath(name).name, limits.seconds))
    except DocumentRejected:
        raise
    except (Exception, RecursionError, MemoryError) as exc:  # lxml, zipfile, pypdf, bs4 each raise their own kinds
        log.warning("could not read %s: %s: %s", name, type(exc).__name__, exc)
        raise _unreadable(media_type, exc) from exc
    doc.blocks = [b for b in doc.blocks if b.text.strip()]
    if not doc.blocks:
        raise DocumentRejected("No text could be found in the file.")
    doc.title = clean(doc.title) or _title_from_name(name)
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


def _title_from_name(name: str) -> str:
    stem = PurePath(name).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else name


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


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

def _repeated_lines(pages: list[list[str]]) -> set[str]:
    """Running headers/footers: first or last lines (digits ignored) that recur on at least half of the pages."""
    if len(pages) < 3:
        return set()
    seen: Counter = Counter()
    for lines in pages:
        lines = [line for line in lines if line]
        seen.update({re.sub(r"\d+", "#", line) for line in lines[:2] + lines[-2:]})
    return {line for line, n in seen.items() if n >= max(3, len(pages) // 2)}


def _only_running_lines(texts: list[str]) -> bool:
    """Every line of every page is a running header or footer: the PDF has nothing else to say (a cover repeated
    on each page, an export that kept only the page furniture)."""
    pages = [[clean(line) for line in text.splitlines()] for text in texts]
    boilerplate = _repeated_lines(pages)
    return bool(boilerplate) and all(re.sub(r"\d+", "#", line) in boilerplate
                                     for lines in pages for line in lines if line)


def _pdf_blocks(texts: list[str], layout: list[dict[str, int]] | None = None,
                tables: list[list[PdfTable]] | None = None) -> list[Block]:
    pages = [[clean(line) for line in text.splitlines()] for text in texts]
    layout = layout or [{} for _ in pages]
    tables = tables or [[] for _ in pages]
    boilerplate = _repeated_lines(pages)
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
                if not line or re.sub(r"\d+", "#", line) in boilerplate:
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


# --- DOCX ------------------------------------------------------------------------------------------------

def _parse_docx(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_package(data, limits)  # sizes, ratios and entity declarations, before python-docx parses any XML
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentRejected("The Word file could not be opened; it looks corrupt or is not a .docx file.") from exc
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    title = document.core_properties.title or ""
    style_of = _paragraph_styles(document)
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for item in _body_items(document):
        budget.check()
        if isinstance(item, Paragraph):
            text = clean(item.text)
            style = style_of(item)
            if not text:
                continue
            if style == "Title":
                title = title or text
                continue
            level = _heading_level(style)
            if level:
                section = [(lvl, t) for lvl, t in section if lvl < level] + [(level, text)]
                continue
            blocks.append(Block(text, None, tuple(t for _, t in section)))
        elif isinstance(item, Table):
            rows = [_docx_cells(row) for row in item.rows]
            named = len(rows) >= 2 and all(is_column_name(name) for name in rows[0])
            blocks.append(table_block(rows[1:] if named else rows, rows[0] if named else None, None,
                                      tuple(t for _, t in section)))
    return ParsedDocument(title=title, media_type=MEDIA_TYPES[".docx"], pages=None, blocks=blocks)


def _body_items(document):
    """The body's paragraphs and tables in order, as python-docx's iter_inner_content() gives them, but by walking
    the body's children: its XPath union ("./w:p | ./w:tbl") is quadratic in libxml2 (2.3 s for 4 MB of XML,
    minutes for 8 MB)."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document._body
    kinds = {qn("w:p"): Paragraph, qn("w:tbl"): Table}
    for element in body._element:
        kind = kinds.get(element.tag)
        if kind is not None:
            yield kind(element, body)


def _paragraph_styles(document):
    """A paragraph's style name, looked up once per style: python-docx's Paragraph.style reads the whole styles
    part again for every paragraph (about 1 ms each, 2 minutes for an 8 MB document)."""
    from docx.enum.style import WD_STYLE_TYPE

    styles = document.styles
    names = {s.style_id: s.name or "" for s in styles if s.type == WD_STYLE_TYPE.PARAGRAPH}
    default = styles.default(WD_STYLE_TYPE.PARAGRAPH)
    fallback = (default.name or "") if default is not None else ""
    return lambda paragraph: names.get(paragraph._p.style, fallback)


def _docx_cells(row) -> list[str]:
    """A row's cells in their columns; a merged cell (python-docx repeats it in every column it spans) once."""
    cells, previous = [], None
    for cell in row.cells:
        cells.append("" if previous is not None and cell._tc is previous._tc else clean(cell.text))
        previous = cell
    return cells


def _heading_level(style: str) -> int:
    match = re.match(r"^Heading (\d)$", style)
    return int(match.group(1)) if match else 0


# --- Markdown and text ------------------------------------------------------------------------------------

MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def _md_inline(text: str) -> str:
    text = MD_LINK.sub(r"\1", text)
    return MD_EMPHASIS.sub(r"\2", text)


def _parse_markdown(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    text = _decode(data)
    headings = [(len(m.group(1)), m.group(2)) for m in map(MD_HEADING.match, text.splitlines()) if m]
    top_levels = [lvl for lvl, _ in headings if lvl == 1]
    title = headings[0][1] if headings and headings[0][0] == 1 and len(top_levels) == 1 else ""
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    para: list[str] = []
    table: list[list[str]] = []
    named = False  # the table's first row is followed by the |---| row: it names the columns
    in_fence = False

    def flush():
        nonlocal named
        if para:
            blocks.append(Block(_md_inline(clean(" ".join(para))), None, tuple(t for _, t in section)))
            para.clear()
        if table:
            blocks.append(table_block(table[1:] if named else list(table), table[0] if named else None, None,
                                      tuple(t for _, t in section)))
            table.clear()
            named = False

    for number, raw in enumerate(text.splitlines()):
        if number % 1000 == 0:
            budget.check()
        line = raw.rstrip()
        if line.strip().startswith("```"):
            in_fence = not in_fence
            continue
        heading = None if in_fence else MD_HEADING.match(line)
        if heading:
            flush()
            level, heading_text = len(heading.group(1)), _md_inline(heading.group(2))
            if title and level == 1:
                section = []
                continue
            section = [(lvl, t) for lvl, t in section if lvl < level] + [(level, heading_text)]
        elif not line.strip() or re.match(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$", line):
            flush()
        elif re.match(r"^\s*\|?\s*:?-{3,}", line):
            named = len(table) == 1  # the table separator row
        elif line.lstrip().startswith("|"):
            if para:
                flush()
            table.append([_md_inline(clean(c)) for c in line.strip().strip("|").split("|")])
        else:
            if table or BULLET.match(line):
                flush()
            para.append(line.strip())
    flush()
    return ParsedDocument(title=_md_inline(title), media_type="text/markdown", pages=None, blocks=blocks)


def _parse_text(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    text = _decode(data)
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.strip():
            budget.check()
            blocks.append(Block(clean(paragraph), None, ()))
    return ParsedDocument(title="", media_type="text/plain", pages=None, blocks=blocks)


# --- HTML ------------------------------------------------------------------------------------------------

HTML_SKIP = ["script", "style", "nav", "footer", "header", "aside", "noscript", "form", "template", "svg"]
HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "dt", "dd", "blockquote", "pre"]


def _parse_html(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
    """Python's own html.parser, not lxml's: it reads no DTD, so it never expands an entity declared in the file
    nor fetches an external one (only the named character references of HTML are decoded)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup.find_all(HTML_SKIP):
        tag.decompose()
    h1s = soup.find_all("h1")
    title = clean(soup.title.get_text()) if soup.title else ""
    if len(h1s) == 1:
        title = clean(h1s[0].get_text()) or title
    root = soup.find("main") or soup.find("article") or soup.body or soup
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for tag in root.find_all(HTML_BLOCKS):
        budget.check()
        if tag.find_parent("table") is not None or (tag.name != "table" and tag.find_parent(HTML_BLOCKS) is not None):
            continue  # nested: its text is part of the enclosing block or table cell
        if tag.name == "table":
            blocks.extend(_html_table(tag, tuple(t for _, t in section)))
            continue
        text = clean(tag.get_text(" "))
        if not text:
            continue
        if tag.name[0] == "h" and tag.name[1:].isdigit():
            level = int(tag.name[1])
            if level == 1 and len(h1s) == 1:
                section = []
                continue
            section = [(lvl, t) for lvl, t in section if lvl < level] + [(level, text)]
            continue
        blocks.append(Block(text, None, tuple(t for _, t in section)))
    if not blocks:  # a page of bare text without block tags
        text = clean(root.get_text(" "))
        if text:
            blocks.append(Block(text, None, ()))
    return ParsedDocument(title=title, media_type="text/html", pages=None, blocks=blocks)


def _html_table(table, section: tuple[str, ...]) -> list[Block]:
    """The caption as a block of its own, then the table; its first row names the columns when it is all <th>
    (or sits in <thead>)."""
    caption = clean(table.caption.get_text(" ")) if table.caption else ""
    trs = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    rows = [[clean(cell.get_text(" ")) for cell in tr.find_all(["th", "td"], recursive=False)] for tr in trs]
    named = len(trs) >= 2 and (trs[0].find_parent("thead") is not None
                               or all(cell.name == "th" for cell in trs[0].find_all(["th", "td"], recursive=False)))
    blocks = [Block(caption, None, section)] if caption else []
    return blocks + [table_block(rows[1:] if named else rows, rows[0] if named else None, None, section)]
