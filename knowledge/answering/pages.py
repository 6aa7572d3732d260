"""Which page of a passage answers: a passage from a long PDF may run over a page break, and the page to show is
that of the sentence that answers, not the page holding most of the passage's words (issue 27)."""
from __future__ import annotations

import numpy as np

from knowledge.answering.answers import passage_sentences
from knowledge.search.pages import quote_pages


def sentence_locator(scorer):
    """locate(query_vector, hit) -> page: the page of the hit's sentence nearest the question, judged by `scorer`
    (a selection.MeaningScorer, whose cached sentence vectors the re-ranker has just filled). A passage on one page
    keeps it."""

    def locate(query: np.ndarray, hit) -> int | None:
        if not hit.page_starts or len(hit.page_starts) < 2:
            return hit.page
        sentences = passage_sentences(hit.text, hit.section)
        if not sentences:
            return hit.page
        similarities = scorer(query, [judged for _, judged in sentences])
        best = sentences[int(np.argmax(similarities))][0]
        return quote_pages(hit.text, best, hit.page_starts, hit.page)[0]

    return locate
