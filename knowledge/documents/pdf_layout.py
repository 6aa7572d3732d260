"""Where a PDF's text sits, from pypdf's text visitor: the runs of text of each page with their position, size and
weight. Headings are read from size and weight; tables from cells that line up in columns over several lines.
One visitor pass per PDF serves both (cached for the parse that asks, then cleared)."""
from __future__ import annotations

import functools
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass

from knowledge.documents.text import BULLET, clean, join_lines
from knowledge.errors import ParseTooSlow

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class _Run:
    """A run of text as the visitor reports it: where it starts (x, y in points), its size and weight, and where
    it sits in the page's extracted text (start, end: the visitor's pieces joined are that text)."""

    text: str
    x: float
    y: float
    size: float
    bold: bool
    start: int
    end: int


@dataclass(frozen=True)
class _PageRuns:
    text: str
    runs: tuple[_Run, ...]  # in the order the page draws them


@functools.lru_cache(maxsize=1)  # headings and tables read the same runs: one pass over the PDF, not two
def pdf_runs(data: bytes, page_count: int, budget=None) -> tuple[_PageRuns, ...] | None:
    """Every page's runs; None for a PDF whose layout cannot be read (layout is a refinement: the text was
    already read). budget (a guards.Budget) is checked between pages; running out of it is not a layout
    failure but the file's, so it is raised."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        runs = []
        for page in reader.pages[:page_count]:
            if budget is not None:
                budget.check()
            runs.append(_page_runs(page))
        return tuple(runs)
    except ParseTooSlow:
        raise
    except Exception as exc:
        log.info("no layout for this PDF: %s", exc)
        return None


def _page_runs(page) -> _PageRuns:
    pieces: list[str] = []
    runs: list[_Run] = []
    at = 0

    def visit(text, cm, tm, font, size):
        nonlocal at
        pieces.append(text)
        start, at = at, at + len(text)
        if not text.strip() or not size:
            return
        name = str((font or {}).get("/BaseFont", "")).lower()
        runs.append(_Run(text, tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5], size * (abs(tm[3] * cm[3]) or 1.0),
                         "bold" in name or "black" in name, start, at))

    page.extract_text(visitor_text=visit)
    return _PageRuns("".join(pieces), tuple(runs))


HEADING_SCALE = 1.12  # a line this much larger than the body text is a heading


def font_headings(data: bytes, page_count: int, budget=None) -> list[dict[str, int]]:
    """Headings found by the PDF's own layout, per page: {line text: level}. Most documents people write have no
    numbered headings; their headings are larger or bold. Sizes and fonts come from pypdf's text visitor; the body
    size is the commonest one (by characters); sizes above it rank as levels (largest = 1), and a short bold line at
    body size is one level below them. A numbered heading's level wins where both exist. Best effort: a PDF
    whose layout cannot be read keeps the numbered headings alone."""
    pages = pdf_runs(data, page_count, budget)
    if pages is None:
        return [{} for _ in range(page_count)]
    lines_per_page = [_styled_lines(page.runs) for page in pages]
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


def _styled_lines(runs: tuple[_Run, ...]) -> list[tuple[str, float, bool]]:
    """A page's lines top to bottom as (text, size by characters, all bold)."""
    by_y: dict[float, list[_Run]] = {}
    for run in runs:
        by_y.setdefault(round(run.y, 0), []).append(run)
    lines = []
    for y in sorted(by_y, reverse=True):
        parts = by_y[y]
        text = clean("".join(r.text for r in parts))
        if text:
            chars = sum(len(r.text) for r in parts)
            size = sum(r.size * len(r.text) for r in parts) / max(chars, 1)
            lines.append((text, round(size, 1), all(r.bold for r in parts if r.text.strip())))
    return lines


# --- PDF tables: runs of lines whose cells start at the same x ----------------------------------------------

PDF_TABLES = True       # off: a PDF's table cells are read as lines of text (before tables were found)
COLUMN_TOLERANCE = 3.0  # points: the cells of one column start this close to where its name starts
CHAR_WIDTH = 0.4        # ems: a low guess at a character's width (the visitor says where a run starts, not ends)
CELL_GAP = 1.0          # ems: a wider gap than this after a run's (guessed) end starts another cell
ROW_GAP = 3.0           # ems: lines further apart than this are not one table
MIN_ROWS = 3            # the column names and two rows
LIST_MARKER = re.compile(r"\(?[a-z0-9]{1,2}[.)]|[-*\u2022\u25cf\u25aa]")


@dataclass(frozen=True)
class _Cell:
    x: float
    y: float
    text: str
    size: float
    runs: tuple[int, ...]  # its runs, by their place in the page's drawing order


@dataclass(frozen=True)
class PdfTable:
    start: int  # where its text sits in the page's extracted text
    end: int
    columns: tuple[float, ...]
    rows: tuple[tuple[str, ...], ...]
    named: bool  # the first row names the columns


def pdf_tables(data: bytes, texts: list[str], budget=None) -> list[list[PdfTable]]:
    """Per page, the regions laid out as tables. Best effort: none where the layout cannot be read or its runs
    do not add up to the page's text."""
    pages = pdf_runs(data, len(texts), budget) if PDF_TABLES else None
    if pages is None:
        return [[] for _ in texts]
    return [_page_tables(page.runs) if page.text == text else [] for page, text in zip(pages, texts)]


def _page_tables(runs: tuple[_Run, ...]) -> list[PdfTable]:
    lines = _cell_lines(runs)
    tables = []
    i = 0
    while i < len(lines):
        table, i = _table_from(lines, i, runs)
        if table is not None:
            tables.append(table)
    return tables


def _cell_lines(runs: tuple[_Run, ...]) -> list[list[_Cell]]:
    """The page's lines top to bottom (runs within a point of one baseline), each split into cells where the gap
    after a run is wider than word spacing."""
    lines: list[list[int]] = []
    for i in sorted(range(len(runs)), key=lambda i: (-runs[i].y, runs[i].x)):
        if lines and abs(runs[lines[-1][0]].y - runs[i].y) <= 1.0:
            lines[-1].append(i)
        else:
            lines.append([i])
    cell_lines = []
    for line in lines:
        cells: list[list[int]] = []
        for i in sorted(line, key=lambda i: runs[i].x):
            before = runs[cells[-1][-1]] if cells else None
            if before and runs[i].x < before.x + (CHAR_WIDTH * len(before.text.strip()) + CELL_GAP) * before.size:
                cells[-1].append(i)
            else:
                cells.append([i])
        cell_lines.append([_Cell(runs[c[0]].x, runs[c[0]].y, clean("".join(runs[i].text for i in c)),
                                 runs[c[0]].size, tuple(c)) for c in cells])
    return cell_lines


def _table_from(lines: list[list[_Cell]], i: int, runs: tuple[_Run, ...]) -> tuple[PdfTable | None, int]:
    """The table whose first row is line i, if the lines below keep to its columns: (table or None, the line after
    it). A line holding only a first-column cell stays in the table when it wraps the cell above (the page draws
    it right after) or when the row goes on in other columns on the next line (their cells centred lower)."""
    columns = tuple(cell.x for cell in lines[i])
    if len(columns) < 2:
        return None, i + 1
    j = i + 1
    while j < len(lines) and _keeps_to(lines[j], lines[j - 1], columns):
        lone = len(lines[j]) == 1 and _column_of(lines[j][0], columns) == 0
        if lone and not (_wraps(lines[j][0], lines[i:j], columns) or (
                j + 1 < len(lines) and _keeps_to(lines[j + 1], lines[j], columns)
                and any(_column_of(cell, columns) != 0 for cell in lines[j + 1]))):
            break
        j += 1
    table = _as_table([cell for line in lines[i:j] for cell in line], columns, runs)
    return (table, j) if table is not None else (None, i + 1)


def _keeps_to(cells: list[_Cell], above: list[_Cell], columns: tuple[float, ...]) -> bool:
    return (all(_column_of(cell, columns) is not None for cell in cells)
            and above[0].y - cells[0].y <= ROW_GAP * cells[0].size)


def _wraps(cell: _Cell, lines: list[list[_Cell]], columns: tuple[float, ...]) -> bool:
    firsts = [c for line in lines for c in line if _column_of(c, columns) == 0]
    return bool(firsts) and min(cell.runs) == max(firsts[-1].runs) + 1


def _column_of(cell: _Cell, columns: tuple[float, ...]) -> int | None:
    return next((n for n, x in enumerate(columns) if abs(cell.x - x) <= COLUMN_TOLERANCE), None)


def _as_table(cells: list[_Cell], columns: tuple[float, ...], runs: tuple[_Run, ...]) -> PdfTable | None:
    """The cells as rows, in the order the page draws them: a row starts where a first-column cell follows a cell
    of another column. None when the page draws other text among them or they read as prose."""
    cells = sorted(cells, key=lambda c: min(c.runs))
    members = {n for cell in cells for n in cell.runs}
    if members != set(range(min(members), max(members) + 1)):
        return None
    rows: list[list[list[str]]] = []
    previous: int | None = None
    for cell in cells:
        column = _column_of(cell, columns)
        if not rows or (column == 0 and previous != 0):
            rows.append([[] for _ in columns])
        rows[-1][column].append(cell.text)
        previous = column
    texts = tuple(tuple(join_lines(parts) for parts in row) for row in rows)
    if _reads_as_prose(texts[1:]):
        return None
    named = len(texts) >= MIN_ROWS and all(is_column_name(name) for name in texts[0])
    return PdfTable(runs[min(members)].start, runs[max(members)].end, columns, texts, named)


def is_column_name(text: str) -> bool:
    """A column's name is short and ends without punctuation; "1." or "- x" is a list item, "Owner:" a label."""
    return (any(c.isalpha() for c in text) and len(text.split()) <= 6 and not text.endswith((".", ":", ";", ","))
            and not LIST_MARKER.fullmatch(text) and not BULLET.match(text))


def _reads_as_prose(rows: tuple[tuple[str, ...], ...]) -> bool:
    """Lines of a paragraph mostly go on mid-sentence (a lower-case start); a table's rows start afresh."""
    lower = sum(1 for row in rows if row[0][:1].islower())
    return lower * 2 > len(rows)
