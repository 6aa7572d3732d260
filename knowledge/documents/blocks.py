"""What every loader returns: a document's title, media type, page count and blocks (paragraphs, list items, whole
tables) with the page and heading path each sits under; and the small helpers every loader shares."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import PurePath

from knowledge.documents.text import clean


MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
}


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


def title_from_name(name: str) -> str:
    stem = PurePath(name).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else name


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
