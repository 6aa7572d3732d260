"""A PDF's page furniture: running headers, footers and page numbers. They repeat at the top or bottom of most pages
("Page 4 of 48 Fileid: ...", "4 Publication 560 (2024)" on even pages and "Publication 560 (2024) 5" on odd ones,
a lone folio "17"), so they would become passages of their own or drown a page's text in every passage cut from
it. Found per document from the text alone: lines near a page's edges that recur, once digits are ignored, on a
good share of the pages; and the edge lines that carry one of those lines' words with a chapter name added
("20 Chapter 4 Qualified Plans Publication 560 (2024)")."""
from __future__ import annotations

import math
import re

EDGE_LINES = 3        # lines read at each page's top and bottom
RECURRING_SHARE = 0.3  # of the pages: a two-sided document puts each footer on half of them, less its chapter pages
MIN_PAGES = 3
SENTENCE_SHARE = 0.8   # of the pages, for a line that reads as a sentence (_sentence)
MAX_WORDS = 15        # an edge line carrying a running line's words with more added is short; a longer one is text
MIN_CORE_CHARS = 8    # a recurring line's words must say this much before other edge lines are matched on them


def furniture_key(line: str) -> str:
    """The line as furniture is compared: lower case, digits ignored (page numbers, dates), spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", line.lower())).strip()


def _edges(lines: list[str]) -> list[str]:
    """A page's top and bottom lines, where furniture sits: EDGE_LINES each on a page with a body between them;
    on a short page only its first and last line, and none on a page of one line, which is its body.
    Otherwise a body that recurs ("Bereavement leave is five paid days" on three short pages, "Annual deductible
    for this tier: $500" differing only in its figure) was taken for a running line and deleted (outside review)."""
    lines = [line for line in lines if line.strip()]
    if len(lines) > 2 * EDGE_LINES:
        return lines[:EDGE_LINES] + lines[-EDGE_LINES:]
    return [lines[0], lines[-1]] if len(lines) > 1 else []


def _sentence(key: str) -> bool:
    """A line that reads as a sentence of the text: a running line is a title, a name, a folio."""
    return len(key.split()) >= 4 and key.rstrip().endswith((".", "!", "?"))


def _core(key: str) -> str:
    """A recurring line without the page number at either end: "# publication # (#)" -> "publication # (#)"."""
    return re.sub(r"^[#\W]+|[#\W]+$", "", key)


def _numbered(key: str) -> bool:
    """A page number at either end: "publication # (#) chapter # definitions #"."""
    words = key.split()
    return bool(words) and "#" in (words[0], words[-1])


def _says_enough(core: str) -> bool:
    return len(core) >= MIN_CORE_CHARS and len(re.findall(r"[a-z]+", core)) >= 2


def _recurring_cores(pages: list[list[str]], needed: int) -> set[str]:
    """The words that start or end a numbered edge line on enough pages, whatever else the line says: a footer
    naming the chapter ("# chapter # qualified plans publication # (#)", "publication # (#) chapter # sep #")
    recurs only within its chapter, but its "publication # (#)" is on every page."""
    seen: dict[str, int] = {}
    for lines in pages:
        found = set()
        for key in map(furniture_key, _edges(lines)):
            words = _core(key).split()
            if not _numbered(key) or len(words) > MAX_WORDS:
                continue
            found |= {" ".join(words[:n]) for n in range(2, len(words) + 1)}
            found |= {" ".join(words[-n:]) for n in range(2, len(words) + 1)}
        for core in found:
            seen[core] = seen.get(core, 0) + 1
    return {core for core, n in seen.items() if n >= needed and _says_enough(core)}


def running_lines(pages: list[list[str]]) -> set[str]:
    """The furniture keys (furniture_key) of a document whose pages hold these lines; empty for fewer than 3
    pages, where nothing can be seen to recur."""
    if len(pages) < MIN_PAGES:
        return set()
    seen: dict[str, int] = {}
    for lines in pages:
        for key in {furniture_key(line) for line in _edges(lines)}:
            seen[key] = seen.get(key, 0) + 1
    needed = max(MIN_PAGES, math.ceil(RECURRING_SHARE * len(pages)))
    # A sentence must recur on nearly every page to be furniture ("Confidential. Do not copy."): a body sentence
    # on half of a short document's pages is text that the document repeats.
    running = {key for key, n in seen.items()
               if n >= needed and (not _sentence(key) or n >= SENTENCE_SHARE * len(pages))}
    cores = {core for core in map(_core, running) if _says_enough(core)} | _recurring_cores(pages, needed)
    for lines in pages:
        edges = set(_edges(lines))
        for line in lines:
            key = furniture_key(line)
            core = _core(key)
            # at an edge, or anywhere with a page number at one end (a footer the text extraction put mid-page)
            if (key not in running and len(key.split()) <= MAX_WORDS and (line in edges or _numbered(key))
                    and any(core.startswith(c) or core.endswith(c) for c in cores)):
                running.add(key)
    return running
