"""The offline answerer's quotes: which sentences of the passages answer the question, judged by meaning with the
shipped models (the primary one for questions in the passages' language, the multilingual one otherwise), their
sentence vectors cached and warmed ahead of the questions."""
from __future__ import annotations

import logging

import numpy as np

from knowledge.answering.answers import Answer, extractive_answer, passage_sentences
from knowledge.answering.selection import MeaningScorer, facts_text, lean_towards
from knowledge.profile.model import CompanyProfile
from knowledge.search.embeddings import LocalEmbeddings
from knowledge.search.retrieval import HybridSearcher

log = logging.getLogger(__name__)

WARM_PASSAGES = """
SELECT c.text, c.section FROM chunks c JOIN documents d USING (document_id)
WHERE d.status = 'active' ORDER BY d.document_id DESC, c.ordinal LIMIT %(limit)s"""


def sentence_scorers(searcher: HybridSearcher) -> dict[str, MeaningScorer]:
    """What the offline answerer chooses its quotes with: the local primary model and the multilingual one, as
    far as they are there (an embeddings API is not called per sentence); with neither, shared words."""
    scorers = {}
    if isinstance(searcher.embeddings, LocalEmbeddings):
        # The re-ranker's scorer when there is one: one cache of sentence vectors serves both.
        shared = getattr(getattr(searcher, "reranker", None), "scorer", None)
        scorers["primary"] = shared if shared is not None else MeaningScorer(searcher.embeddings)
    if searcher.multilingual is not None:
        scorers["multilingual"] = MeaningScorer(searcher.multilingual)
    return scorers


class Quoter:
    def __init__(self, searcher: HybridSearcher, profile: CompanyProfile, hr_contact: str):
        self.searcher = searcher
        self.profile = profile
        self.hr_contact = hr_contact
        self.scorers = sentence_scorers(searcher)

    def quote(self, question, sources, facts, has_personal, vectors: dict | None = None,
              prefer=None) -> Answer:
        """The answer made of the sentences that answer `question` (leaning towards the asker's facts, if any),
        each with its citation. vectors: the question's own vector per scorer, where the embed steps made one;
        prefer: words naming the asker that a rule leaves out (extractive_answer)."""
        name = self.scorer_for(question, sources)
        similarity = None
        if name is not None:
            scorer, query = self.scorers[name], (vectors or {}).get(name, question)
            if facts:
                # The asker's own figures already answer "how much do I have"; the policy should explain them
                # (entitlement, carry-over), so quotes are judged against the question *and* the facts, not the
                # question alone (whose nearest sentence may be about pay for leave untaken on leaving).
                if not isinstance(query, np.ndarray):
                    query = scorer.model.embed_array([query])[0]
                query = lean_towards(query, self.facts_vector(scorer.model, facts))
            similarity = lambda sentences: scorer(query, sentences)
        text, citations = extractive_answer(question, sources, facts, self.hr_contact, similarity=similarity,
                                            prefer=prefer)
        return Answer(text, citations, facts, supported=bool(citations), personal=has_personal)

    def scorer_for(self, question: str, sources) -> str | None:
        """Which scorer quotes: the primary model when it is local and the question is in the passages' language
        (all-MiniLM-L6-v2 separates English sentences far better), else the multilingual one."""
        if "multilingual" not in self.scorers:
            return "primary" if "primary" in self.scorers else None
        if "primary" in self.scorers and sources:
            passages = " ".join(d.page_content for d in sources[:2])
            if self.profile.language_of(question) == self.profile.language_of(passages):
                return "primary"
        return "multilingual"

    def facts_vector(self, model, facts) -> np.ndarray:
        """The facts' vector in `model`'s space. One answer blends the same facts into its search, its
        multilingual search and its quotes: the sentence scorers' cache embeds them once."""
        text = facts_text(facts)
        for scorer in self.scorers.values():
            if scorer.model is model:
                return scorer.vectors([text])[0]
        return model.embed_array([text])[0]

    def warm(self, limit: int = 20_000) -> int:
        """Embed the sentences of the newest passages (at most `limit`) ahead of the questions, so the first answer
        that quotes them does not wait for it. Returns how many."""
        if not self.scorers:
            return 0
        with self.searcher.db.connection() as conn:
            rows = conn.execute(WARM_PASSAGES, {"limit": limit}).fetchall()
        texts = list(dict.fromkeys(judged for text, section in rows
                                   for _, judged in passage_sentences(text, section)))[:limit]
        for scorer in self.scorers.values():
            for start in range(0, len(texts), 256):
                scorer.vectors(texts[start:start + 256])
        log.info("embedded %d sentences of %d passages for quoting", len(texts), len(rows))
        return len(texts)
