"""Document loaders: bytes of a PDF, DOCX, Markdown, HTML or text file -> title and text blocks with page and
heading path. The only module that touches langchain-community (for PDF pages), so it can be replaced."""
from __future__ import annotations

import io
import logging
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

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
    """A paragraph, list item or table row, with where it sits: page (1-based or None) and heading path."""

    text: str
    page: int | None
    section: tuple[str, ...] = ()


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


def parse(name: str, data: bytes) -> ParsedDocument:
    """Parse a file's bytes. Raises DocumentRejected with a reason a person can act on."""
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
    doc = parser(name, data)
    doc.blocks = [b for b in doc.blocks if b.text.strip()]
    if not doc.blocks:
        raise DocumentRejected("No text could be found in the file.")
    doc.title = _clean(doc.title) or _title_from_name(name)
    return doc


def _title_from_name(name: str) -> str:
    stem = PurePath(name).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else name


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


# --- PDF -------------------------------------------------------------------------------------------------

PDF_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+([A-Z][^\n]{1,90})$")
BULLET = re.compile(r"^\s*(?:[-*\u2022\u25cf\u25aa]|\(?[a-z0-9]{1,2}[.)])\s+")


def _parse_pdf(name: str, data: bytes) -> ParsedDocument:
    if not data.lstrip().startswith(b"%PDF"):
        raise DocumentRejected("This is not a valid PDF (it may be corrupt or another format renamed to .pdf).")
    from pypdf.errors import FileNotDecryptedError, WrongPasswordError

    try:
        pages = _pdf_pages(data, name, password=None)
    except FileNotDecryptedError:
        try:  # owner-password-only PDFs (printing/copying restrictions) open with an empty user password
            pages = _pdf_pages(data, name, password="")
        except (FileNotDecryptedError, WrongPasswordError):
            raise DocumentRejected("The PDF is password-protected. Upload a copy without a password.") from None
    texts = [p.page_content or "" for p in pages]
    if not any(t.strip() for t in texts):
        raise DocumentRejected(
            "The PDF has no extractable text (it is probably a scan). Upload a text-based PDF or run OCR first.")
    title = str(pages[0].metadata.get("title") or "") if pages else ""
    blocks = _pdf_blocks(texts, _font_headings(data, len(texts)))
    if not title:
        title = blocks[0].section[0] if blocks and blocks[0].section else ""
    return ParsedDocument(title=title, media_type="application/pdf", pages=len(texts), blocks=blocks)


def _pdf_pages(data: bytes, name: str, password: str | None) -> list:
    """One parse of the PDF: a Document per page with the file's metadata (title...)."""
    from langchain_core.documents.base import Blob
    from pypdf.errors import FileNotDecryptedError, WrongPasswordError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.document_loaders.parsers.pdf import PyPDFParser

    parser = PyPDFParser(password=password, mode="page", extraction_mode="plain")
    try:
        return list(parser.lazy_parse(Blob.from_data(data, path=name, mime_type="application/pdf")))
    except (FileNotDecryptedError, WrongPasswordError):
        raise
    except Exception as exc:  # pypdf raises many kinds for damaged files
        log.info("unreadable PDF %s: %s", name, exc)
        raise DocumentRejected("The PDF could not be read; it looks corrupt. Re-export it and try again.") from exc


HEADING_SCALE = 1.12  # a line this much larger than the body text is a heading


def _font_headings(data: bytes, page_count: int) -> list[dict[str, int]]:
    """Headings found by the PDF's own layout, per page: {line text: level}. Most documents people write have no
    numbered headings; their headings are larger or bold. Sizes and fonts come from pypdf's text visitor; the body
    size is the commonest one (by characters); sizes above it rank as levels (largest = 1), and a short bold line at
    body size is one level below them. A numbered heading's level wins where both exist. Best effort: a PDF
    whose layout cannot be read keeps the numbered headings alone."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        lines_per_page = []
        for page in reader.pages[:page_count]:
            pieces: dict[float, list] = {}

            def visit(text, cm, tm, font, size, pieces=pieces):
                if not text.strip() or not size:
                    return
                scale = abs(tm[3] * cm[3]) or 1.0
                y = round(tm[5] * cm[3] + cm[5], 0)
                name = str((font or {}).get("/BaseFont", ""))
                pieces.setdefault(y, []).append((text, size * scale, "bold" in name.lower() or "black" in name.lower()))

            page.extract_text(visitor_text=visit)
            lines = []
            for y in sorted(pieces, reverse=True):
                parts = pieces[y]
                text = _clean("".join(t for t, _, _ in parts))
                if text:
                    chars = sum(len(t) for t, _, _ in parts)
                    size = sum(sz * len(t) for t, sz, _ in parts) / max(chars, 1)
                    lines.append((text, round(size, 1), all(b for t, _, b in parts if t.strip())))
            lines_per_page.append(lines)
    except Exception as exc:  # layout is a refinement; the text was already read
        log.info("no layout headings for this PDF: %s", exc)
        return [{} for _ in range(page_count)]
    sizes: Counter = Counter()
    for lines in lines_per_page:
        for text, size, _ in lines:
            sizes[size] += len(text)
    if not sizes:
        return [{} for _ in range(page_count)]
    body = sizes.most_common(1)[0][0]

    def candidate(text: str) -> bool:
        return len(text.split()) <= 12 and not text.endswith((".", ",", ";")) and any(c.isalpha() for c in text)

    larger = sorted({size for lines in lines_per_page for text, size, _ in lines
                     if size >= body * HEADING_SCALE and candidate(text)}, reverse=True)
    first = lines_per_page[0][0] if lines_per_page and lines_per_page[0] else None
    if first and larger and first[1] == larger[0] and sum(1 for ls in lines_per_page for t, sz, _ in ls
                                                           if sz == larger[0]) == 1:
        larger = larger[1:]  # the document's title, once, largest of all: the title, not a section
    level_of = {size: i + 1 for i, size in enumerate(larger)}
    found = []
    for lines in lines_per_page:
        headings = {}
        for i, (text, size, bold) in enumerate(lines):
            if not candidate(text):
                continue
            if size in level_of:
                headings[text] = level_of[size]
            elif bold and abs(size - body) < 0.5 and not (i + 1 < len(lines) and lines[i + 1][2]):
                headings[text] = len(level_of) + 1
        found.append(headings)
    return found


def _repeated_lines(pages: list[list[str]]) -> set[str]:
    """Running headers/footers: first or last lines (digits ignored) that recur on at least half of the pages."""
    if len(pages) < 3:
        return set()
    seen: Counter = Counter()
    for lines in pages:
        lines = [line for line in lines if line]
        seen.update({re.sub(r"\d+", "#", line) for line in lines[:2] + lines[-2:]})
    return {line for line, n in seen.items() if n >= max(3, len(pages) // 2)}


def _pdf_blocks(texts: list[str], layout: list[dict[str, int]] | None = None) -> list[Block]:
    pages = [[_clean(line) for line in text.splitlines()] for text in texts]
    layout = layout or [{} for _ in pages]
    boilerplate = _repeated_lines(pages)
    blocks: list[Block] = []
    section: list[tuple[int, str]] = []  # (level, title)
    for page_no, lines in enumerate(pages, start=1):
        para: list[str] = []

        def flush():
            if para:
                blocks.append(Block(_join_lines(para), page_no, tuple(t for _, t in section)))
                para.clear()

        for line in lines:
            if not line or re.sub(r"\d+", "#", line) in boilerplate:
                continue
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


def _looks_short(line: str, lines: list[str]) -> bool:
    widest = max((len(x) for x in lines), default=0)
    return len(line) < 0.8 * widest


def _join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if out.endswith("-") and line[:1].islower():
            out += line  # a word broken across lines
        else:
            out = f"{out} {line}" if out else line
    return out


# --- DOCX ------------------------------------------------------------------------------------------------

def _parse_docx(name: str, data: bytes) -> ParsedDocument:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentRejected("The Word file could not be opened; it looks corrupt or is not a .docx file.") from exc
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    title = document.core_properties.title or ""
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = _clean(item.text)
            style = (item.style.name if item.style is not None else "") or ""
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
            for row in item.rows:
                cells = []
                for cell in row.cells:
                    value = _clean(cell.text)
                    if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                        cells.append(value)
                if cells:
                    blocks.append(Block(" | ".join(cells), None, tuple(t for _, t in section)))
    return ParsedDocument(title=title, media_type=MEDIA_TYPES[".docx"], pages=None, blocks=blocks)


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


def _parse_markdown(name: str, data: bytes) -> ParsedDocument:
    text = _decode(data)
    headings = [(len(m.group(1)), m.group(2)) for m in map(MD_HEADING.match, text.splitlines()) if m]
    top_levels = [lvl for lvl, _ in headings if lvl == 1]
    title = headings[0][1] if headings and headings[0][0] == 1 and len(top_levels) == 1 else ""
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    para: list[str] = []
    in_fence = False

    def flush():
        if para:
            blocks.append(Block(_md_inline(_clean(" ".join(para))), None, tuple(t for _, t in section)))
            para.clear()

    for raw in text.splitlines():
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
            continue  # table separator row
        elif line.lstrip().startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            para.append(" | ".join(c for c in cells if c))
            flush()
        elif BULLET.match(line):
            flush()
            para.append(line.strip())
        else:
            para.append(line.strip())
    flush()
    return ParsedDocument(title=_md_inline(title), media_type="text/markdown", pages=None, blocks=blocks)


def _parse_text(name: str, data: bytes) -> ParsedDocument:
    text = _decode(data)
    blocks = [Block(_clean(p), None, ()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return ParsedDocument(title="", media_type="text/plain", pages=None, blocks=blocks)


# --- HTML ------------------------------------------------------------------------------------------------

HTML_SKIP = ["script", "style", "nav", "footer", "header", "aside", "noscript", "form", "template", "svg"]
HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "dt", "dd", "blockquote", "pre", "caption"]


def _parse_html(name: str, data: bytes) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup.find_all(HTML_SKIP):
        tag.decompose()
    h1s = soup.find_all("h1")
    title = _clean(soup.title.get_text()) if soup.title else ""
    if len(h1s) == 1:
        title = _clean(h1s[0].get_text()) or title
    root = soup.find("main") or soup.find("article") or soup.body or soup
    section: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for tag in root.find_all(HTML_BLOCKS):
        if tag.find_parent(HTML_BLOCKS) is not None and tag.name not in ("tr",):
            continue  # nested: its text is part of the enclosing block
        if tag.name == "tr":
            cells = [_clean(c.get_text(" ")) for c in tag.find_all(["th", "td"])]
            text = " | ".join(c for c in cells if c)
        else:
            text = _clean(tag.get_text(" "))
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
        text = _clean(root.get_text(" "))
        if text:
            blocks.append(Block(text, None, ()))
    return ParsedDocument(title=title, media_type="text/html", pages=None, blocks=blocks)
