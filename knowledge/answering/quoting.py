"""The offline answerer's quotes: which sentences of the passages answer the question, judged by meaning with the
shipped models (the primary one for questions in the passages' language, the multilingual one otherwise), their
sentence vectors stored with the passages and read with them (knowledge/search/sentences.py)."""
from __future__ import annotations

import numpy as np

from knowledge.answering.answers import Answer, extractive_answer
from knowledge.answering.selection import MeaningScorer, facts_text, lean_towards
from knowledge.profile.model import CompanyProfile
from knowledge.search.embeddings import LocalEmbeddings
from knowledge.search.retrieval import HybridSearcher


def sentence_scorers(searcher: HybridSearcher) -> dict[str, MeaningScorer]:
    """What the offline answerer chooses its quotes with: the local primary model and the multilingual one, as
    far as they are there (an embeddings API is not called per sentence); with neither, shared words."""
    scorers = {}
    if isinstance(searcher.embeddings, LocalEmbeddings):
        scorers["primary"] = MeaningScorer(searcher.embeddings, "primary")
    if searcher.multilingual is not None:
        scorers["multilingual"] = MeaningScorer(searcher.multilingual, "multilingual")
    return scorers


class Quoter:
    def __init__(self, searcher: HybridSearcher, profile: CompanyProfile, hr_contact: str):
        self.searcher = searcher
        self.profile = profile
        self.hr_contact = hr_contact
        self.scorers = sentence_scorers(searcher)

    def quote(self, question, sources, facts, has_personal, vectors: dict | None = None,
              prefer=None, facts_vectors: dict | None = None) -> Answer:
        """The answer made of the sentences that answer `question` (leaning towards the asker's facts, if any),
        each with its citation. vectors: the question's own vector per scorer, where the embed steps made one;
        facts_vectors: the facts' vector per scorer, likewise; prefer: words naming the asker that a rule leaves
        out (extractive_answer)."""
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
                facts_vector = (facts_vectors or {}).get(name)
                if facts_vector is None:
                    facts_vector = scorer.model.embed_array([facts_text(facts)])[0]
                query = lean_towards(query, facts_vector)
            similarity = lambda groups: scorer(query, groups)
        contact = self.profile.contact_for(question, self.hr_contact)
        text, citations = extractive_answer(question, sources, facts, contact, similarity=similarity,
                                            prefer=prefer, heading=self.profile.wording_of(question).say("heading"),
                                            said=self.profile.wording_of(question))
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
