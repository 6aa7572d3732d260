"""Citations: which passage an answer cites, with its page (the quoted sentences' own, across a page break) and
section, and the version of its document (the day it is in force from, and until, when its versions are dated).
Moved out of answers.py, which callers still import these names from."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date

from langchain_core.documents import Document

from knowledge.search.pages import page_at, quote_pages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    page: int | None
    section: str
    document_id: int
    url: str | None = None
    page_end: int | None = None  # set where the quote runs over a page break: "pages 9-10"
    version: int | None = None
    effective_from: date | None = None   # the version is in force from this day (None: always)
    effective_until: date | None = None  # ... until this day, when the next version takes over (None: no end)

    @property
    def pages(self) -> str:
        """The page to show: "9", or "9-10" for a quote over a page break; empty without pages."""
        if self.page is None:
            return ""
        return f"{self.page}-{self.page_end}" if self.page_end and self.page_end != self.page else str(self.page)


CITATION = re.compile(r"\[(\d{1,2})\]")


def citation_for(n: int, doc: Document) -> Citation:
    m = doc.metadata
    return Citation(n, m["source"], m.get("title") or m["source"], m.get("page"), m.get("section") or "",
                    m["document_id"], m.get("url"), version=m.get("version"), effective_from=m.get("effective_from"),
                    effective_until=m.get("effective_until"))


def quoted_citation(n: int, doc: Document, quotes: list[str]) -> Citation:
    """The citation of a passage by what was quoted from it: the page of the quoted sentences (first to last, so
    "pages 9-10" only where they run over a page break), not the page holding most of the passage."""
    citation = citation_for(n, doc)
    section_starts = doc.metadata.get("section_starts") or ()
    if len(section_starts) > 1 and quotes:  # a result merged from passages of one page: the quote's own section
        at = doc.page_content.find(quotes[0].strip())
        citation = replace(citation, section=page_at(section_starts, max(at, 0), citation.section))
    page_starts = doc.metadata.get("page_starts")
    pages = [page for quote in quotes
             for page in quote_pages(doc.page_content, quote, page_starts, citation.page) if page is not None]
    if not page_starts or not pages:
        return citation
    return replace(citation, page=min(pages), page_end=max(pages) if max(pages) != min(pages) else None)


def check_citations(text: str, sources: list[Document]) -> tuple[str, list[Citation]]:
    """Keep citations of sources that were given, numbered 1, 2, ... in the order they first appear; drop (and
    log) any other number the model wrote."""
    order: dict[int, int] = {}  # source number -> number shown

    def keep(match: re.Match) -> str:
        n = int(match.group(1))
        if 1 <= n <= len(sources):
            order.setdefault(n, len(order) + 1)
            return f"[{order[n]}]"
        log.warning("dropped citation [%d]: only %d sources were given", n, len(sources))
        return ""

    text = CITATION.sub(keep, text)
    return (re.sub(r"[ \t]+([.,;:])", r"\1", text).strip(),
            [citation_for(shown, sources[n - 1]) for n, shown in order.items()])
