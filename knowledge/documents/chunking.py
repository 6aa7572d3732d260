"""Chunking: text blocks -> retrieval-sized chunks that respect headings and sentences and know their pages."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from knowledge.documents.loaders import Block

MAX_WORDS = 170   # all-MiniLM-L6-v2 reads 256 word pieces; leave room for the title/section prefix
MIN_WORDS = 40    # a smaller tail merges into the chunk before it (same section)
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


@dataclass
class _Unit:
    text: str
    page: int | None
    words: int
    joins_previous: bool = False  # a paragraph continued from the previous page


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def _units(blocks: list[Block]) -> list[_Unit]:
    units: list[_Unit] = []
    previous: Block | None = None
    for block in blocks:
        continued = (previous is not None and previous.page is not None and block.page != previous.page
                     and not previous.text.rstrip().endswith((".", ":", "!", "?")) and block.text[:1].islower())
        pieces = [block.text] if len(block.text.split()) <= MAX_WORDS else split_sentences(block.text)
        for i, piece in enumerate(pieces):
            words = piece.split()
            for start in range(0, len(words), MAX_WORDS):  # a single over-long "sentence" (a table, a list)
                part = " ".join(words[start:start + MAX_WORDS])
                units.append(_Unit(part, block.page, len(words[start:start + MAX_WORDS]),
                                   joins_previous=(continued and i == 0 and start == 0) or i > 0 or start > 0))
        previous = block
    return units


def _render(units: list[_Unit]) -> str:
    out = ""
    for unit in units:
        out = unit.text if not out else out + (" " if unit.joins_previous else "\n") + unit.text
    return out


def chunk_blocks(blocks: list[Block]) -> list[Chunk]:
    """Group blocks by section, then pack whole sentences into chunks of at most MAX_WORDS words."""
    groups: list[tuple[tuple[str, ...], list[Block]]] = []
    for block in blocks:
        if groups and groups[-1][0] == block.section:
            groups[-1][1].append(block)
        else:
            groups.append((block.section, [block]))

    packed: list[tuple[str, list[_Unit]]] = []
    for section, section_blocks in groups:
        section_name = SECTION_SEPARATOR.join(section)
        current: list[_Unit] = []
        count = 0
        section_chunks: list[list[_Unit]] = []
        for unit in _units(section_blocks):
            if current and count + unit.words > MAX_WORDS:
                section_chunks.append(current)
                # carry the last sentence over so a fact split at the boundary is whole in one chunk
                tail = current[-1]
                current, count = ([tail], tail.words) if tail.words <= 40 else ([], 0)
            current.append(unit)
            count += unit.words
        if current:
            if (section_chunks and count < MIN_WORDS
                    and sum(u.words for u in section_chunks[-1]) + count <= MAX_WORDS + MIN_WORDS):
                section_chunks[-1].extend(u for u in current if u is not section_chunks[-1][-1])
            else:
                section_chunks.append(current)
        packed.extend((section_name, units) for units in section_chunks)

    chunks: list[Chunk] = []
    for ordinal, (section_name, units) in enumerate(packed):
        pages: Counter = Counter()
        for unit in units:
            if unit.page is not None:
                pages[unit.page] += unit.words
        page = min(pages, key=lambda p: (-pages[p], p)) if pages else None
        chunks.append(Chunk(ordinal, _render(units), section_name, page,
                            min(pages) if pages else None, max(pages) if pages else None))
    return chunks
