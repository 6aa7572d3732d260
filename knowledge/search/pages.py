"""Pages inside a passage: a passage cut from a long PDF may run over a page break, and its `page_starts`
([offset, page] pairs, first at offset 0) say where each page begins in its text. A sentence's page is the page of
the pair at or before its start; a quote runs over two pages only where its end lies past the next page's start."""
from __future__ import annotations

from typing import Iterable, Sequence

PageStarts = Sequence[Sequence[int]]


def page_at(page_starts: PageStarts | None, offset: int, default: int | None = None) -> int | None:
    """The page holding the character at `offset`; `default` for a passage without pages."""
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


def page_region(hit) -> tuple:
    """A page of a document under one top-level heading: two passages there show the reader the same part of the
    same page. A page that holds the ends of two chapters (a short policy with a section per half page) is two
    regions: dropping one would drop the other chapter's rule."""
    return hit.document_id, (hit.section or "").split(" > ")[0], hit.page


def one_per_page(hits: Iterable, key=page_region) -> list:
    """The hits with at most one per page region (page_region), the better-ranked kept: two passages of one page
    would take two places of five and show the reader the same page twice. Hits without a page are all kept (one
    Markdown page has no pages to repeat; its sections are kept apart elsewhere)."""
    seen: set = set()
    kept = []
    for hit in hits:
        place = key(hit)
        if place[-1] is not None and place in seen:
            continue
        seen.add(place)
        kept.append(hit)
    return kept
