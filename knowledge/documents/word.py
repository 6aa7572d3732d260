"""Word files: paragraphs, lists and tables in body order, with the heading path from the paragraph styles. The
package is checked (sizes, ratios, entity declarations) before python-docx parses any XML."""
from __future__ import annotations

import io
import re

from knowledge.documents.blocks import MEDIA_TYPES, Block, ParsedDocument, table_block
from knowledge.documents.guards import Budget, Limits, check_package
from knowledge.documents.pdf_layout import is_column_name
from knowledge.documents.text import clean
from knowledge.errors import DocumentRejected


def parse_docx(name: str, data: bytes, limits: Limits, budget: Budget) -> ParsedDocument:
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
