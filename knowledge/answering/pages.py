"""Which page of a passage answers: a passage from a long PDF may run over a page break, and the page to show is
that of the sentence that answers, not the page holding most of the passage's words (issue 27)."""
from __future__ import annotations

import numpy as np

from knowledge.search.pages import quote_pages
from knowledge.search.sentences import passage_sentences


def sentence_locator(scorer):
    """locate(query_vector, hit) -> page: the page of the hit's sentence nearest the question, judged by `scorer`
    (a selection.MeaningScorer). The sentences stored with the passage carry their pages and vectors, so this costs
    one product; a passage stored before them is split and embedded now. A passage on one page keeps it."""

    def locate(query: np.ndarray, hit) -> int | None:
        if not hit.page_starts or len(hit.page_starts) < 2:
            return hit.page
        stored = hit.sentences
        if stored is not None and stored.texts and any(page is not None for page in stored.pages):
            similarities = scorer(query, [(stored, [judged for _, judged in stored.quotable(hit.section)])])
            page = stored.pages[int(np.argmax(similarities))]
            return page if page is not None else hit.page
        sentences = passage_sentences(hit.text, hit.section)
        if not sentences:
            return hit.page
        similarities = scorer(query, [(None, [judged for _, judged in sentences])])
        best = sentences[int(np.argmax(similarities))][0]
        return quote_pages(hit.text, best, hit.page_starts, hit.page)[0]

    return locate
