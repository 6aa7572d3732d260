"""Pages inside a passage: a passage cut from a long PDF may run over a page break, and its `page_starts`
([offset, page] pairs, first at offset 0) say where each page begins in its text. A sentence's page is the page of
the pair at or before its start; a quote runs over two pages only where its end lies past the next page's start."""
from __future__ import annotations

from typing import Iterable, Sequence

PageStarts = Sequence[Sequence[int]]


def page_at(page_starts: PageStarts | None, offset: int, default=None):
    """The page holding the character at `offset`; `default` for a passage without pages. Any [offset, value]
    pairs read the same way (a merged result's section_starts)."""
    page = default
    for start, number in page_starts or ():
        if start > offset:
            break
        page = number
    return page


def quote_pages(text: str, quote: str, page_starts: PageStarts | None,
                default: int | None = None) -> tuple[int | None, int | None]:
    """(first page, last page) of `quote` inside `text`: one page unless the quote truly runs over a page break.
    A quote not found in the text (reworded) keeps `default`."""
    start = text.find(quote.strip()) if quote.strip() else -1
    if start < 0 or not page_starts:
        return default, default
    end = start + len(quote.strip()) - 1
    return page_at(page_starts, start, default), page_at(page_starts, end, default)


def page_region(hit) -> tuple | None:
    """Where a passage shows the reader: a page of a document, or, in a document without pages (Markdown, HTML),
    a section of it. Two passages there are one result: two places of five for one page would push another
    answer out, and dropping one would drop whatever rule only it holds (a page holding the ends of two chapters)."""
    if hit.page is not None:
        return hit.document_id, "page", hit.page
    return hit.document_id, "section", hit.section or ""


def merge_regions(hits: Iterable, key=page_region) -> list:
    """The hits, ranked as they came, each page region (`key`; None: a hit of its own) once: a later passage of a
    region is merged into the better-ranked one (`hit.merged_with(other)`), so nothing it holds is lost and no page
    comes back twice."""
    merged: list = []
    at: dict = {}
    for hit in hits:
        place = key(hit)
        if place is None:
            merged.append(hit)
        elif place in at:
            merged[at[place]] = merged[at[place]].merged_with(hit)
        else:
            at[place] = len(merged)
            merged.append(hit)
    return merged
