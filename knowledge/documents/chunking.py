"""Chunking: text blocks -> retrieval-sized chunks that respect headings, sentences and tables and know their pages."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from knowledge.documents.blocks import Block

MAX_WORDS = 170   # all-MiniLM-L6-v2 reads 256 word pieces; leave room for the title/section prefix
MIN_WORDS = 40    # a smaller tail merges into the chunk before it (same section)
LONG_WORD = 100   # characters: a longer "word" (a run of dots, a base64 blob) is cut into pieces this long, so a
                  # unit stays near MAX_WORDS real words in size (a 200,000-dot sentence was one 200 KB passage)
MAX_UNIT_CHARS = 2000  # and a unit of words ends here whatever their count
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\u2022-])")
SECTION_SEPARATOR = " > "


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    section: str
    page: int | None        # the page holding most of the words: where a citation should point
    page_start: int | None
    page_end: int | None
    # [offset in text, page] where each page begins, first at offset 0 (a sentence's page is that of the pair at
    # or before its start); empty without pages. The contract the sentence store reads (issue 24).
    page_starts: tuple[tuple[int, int], ...] = ()


@dataclass
class _Unit:
    text: str
    page: int | None
    words: int
    joins_previous: bool = False  # a paragraph continued from the previous page
    table: int | None = None      # the table this row (or its column names) belongs to, numbered in its section
    names: bool = False           # a table's column names: they head every chunk that holds its rows


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def _units(blocks: list[Block]) -> list[_Unit]:
    units: list[_Unit] = []
    previous: Block | None = None
    tables = 0
    for block in blocks:
        if block.table:
            # a table going on over a page break arrives as one block per page, under the same column names
            if not (previous is not None and previous.table and block.header and previous.header == block.header):
                tables += 1
                if block.header:
                    units.append(_Unit(block.header, block.page, len(block.header.split()), table=tables, names=True))
            for row in block.rows:
                units.extend(_word_windows(row, block.page, False, table=tables))
        else:
            continued = (previous is not None and not previous.table and previous.page is not None
                         and block.page != previous.page
                         and not previous.text.rstrip().endswith((".", ":", "!", "?")) and block.text[:1].islower())
            pieces = [block.text] if len(block.text.split()) <= MAX_WORDS else split_sentences(block.text)
            for i, piece in enumerate(pieces):
                units.extend(_word_windows(piece, block.page, (continued and i == 0) or i > 0))
        previous = block
    return units


def _word_windows(text: str, page: int | None, joins_previous: bool, table: int | None = None) -> list[_Unit]:
    """A sentence or table row as one unit, or several of at most MAX_WORDS words and MAX_UNIT_CHARS characters
    when it is longer than a chunk (words longer than LONG_WORD cut up first)."""
    words = [word[i:i + LONG_WORD] for word in text.split() for i in range(0, len(word), LONG_WORD)]
    windows: list[list[str]] = []
    size = 0
    for word in words:
        if not windows or len(windows[-1]) >= MAX_WORDS or size + len(word) > MAX_UNIT_CHARS:
            windows.append([])
            size = 0
        windows[-1].append(word)
        size += len(word) + 1
    # A unit's size counts its characters too (12 a word, twice a real word's average), so packing cannot put
    # several 2,000-character units of a few giant "words" into one chunk; real text is measured by its words.
    return [_Unit(" ".join(window), page, max(len(window), sum(map(len, window)) // 12),
                  joins_previous=joins_previous or i > 0, table=table)
            for i, window in enumerate(windows)]


def _pieces(units: list[_Unit]) -> list[list[_Unit]]:
    """What packing never cuts inside: a sentence alone, or a whole table (its names and all its rows)."""
    pieces: list[list[_Unit]] = []
    for unit in units:
        if unit.table is not None and pieces and pieces[-1][0].table == unit.table:
            pieces[-1].append(unit)
        else:
            pieces.append([unit])
    return pieces


def _words(units: list[_Unit]) -> int:
    return sum(u.words for u in units)


def _pack(units: list[_Unit]) -> list[list[_Unit]]:
    """Pack whole sentences into chunks of at most MAX_WORDS words. A table stays whole in one chunk when it fits
    one; a longer one is cut between rows, each part headed by the column names."""
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []

    def close(before: _Unit) -> list[_Unit]:
        chunks.append(current)
        # carry the last sentence over so a fact split at the boundary is whole in one chunk (sentences only)
        tail = current[-1]
        return [tail] if tail.words <= 40 and tail.table is None and before.table is None else []

    for piece in _pieces(units):
        if piece[0].table is None or _words(piece) <= MAX_WORDS:  # a sentence, or a table that fits in a chunk
            if current and _words(current) + _words(piece) > MAX_WORDS:
                current = close(piece[0])
            current = current + piece
            continue
        names = [u for u in piece[:1] if u.names]
        rows = piece[len(names):]
        if current and _words(current) + _words(names) + rows[0].words > MAX_WORDS:
            current = close(piece[0])
        current = current + names
        for row in rows:
            if _words(current) + row.words > MAX_WORDS and any(u.table == row.table and not u.names for u in current):
                chunks.append(current)
                current = list(names)
            current.append(row)
    if current:
        if chunks and _words(current) < MIN_WORDS and _words(chunks[-1]) + _words(current) <= MAX_WORDS + MIN_WORDS:
            chunks[-1].extend(u for u in current if not any(u is kept for kept in chunks[-1]))  # not twice
        else:
            chunks.append(current)
    return chunks


def _render(units: list[_Unit]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The chunk's text and where each of its pages begins in it. Repeated column names heading a chunk take
    the page of the row after them."""
    out = ""
    starts: list[tuple[int, int]] = []
    for i, unit in enumerate(units):
        out = out if not out else out + (" " if unit.joins_previous else "\n")
        page = unit.page
        if unit.names:
            page = next((u.page for u in units[i + 1:] if not u.names), page)
        if page is not None and (not starts or starts[-1][1] != page):
            starts.append((len(out), page))
        out += unit.text
    if starts:
        starts[0] = (0, starts[0][1])
    return out, tuple(starts)


def chunk_blocks(blocks: list[Block]) -> list[Chunk]:
    """Group blocks by section, then pack each section's sentences and tables into chunks (_pack)."""
    groups: list[tuple[tuple[str, ...], list[Block]]] = []
    for block in blocks:
        if groups and groups[-1][0] == block.section:
            groups[-1][1].append(block)
        else:
            groups.append((block.section, [block]))

    packed = [(SECTION_SEPARATOR.join(section), units)
              for section, section_blocks in groups for units in _pack(_units(section_blocks))]
    chunks: list[Chunk] = []
    for ordinal, (section_name, units) in enumerate(packed):
        pages: Counter = Counter()
        for unit in [u for u in units if not u.names] or units:  # repeated column names sit on no page of their own
            if unit.page is not None:
                pages[unit.page] += unit.words
        page = min(pages, key=lambda p: (-pages[p], p)) if pages else None
        text, starts = _render(units)
        chunks.append(Chunk(ordinal, text, section_name, page,
                            min(pages) if pages else None, max(pages) if pages else None, starts))
    return chunks

