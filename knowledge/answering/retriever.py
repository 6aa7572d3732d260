"""The knowledge base as a LangChain retriever, for the answer chain.

Kept out of knowledge/search: importing langchain_core.retrievers brings LangChain's runnables, tracers and
LangSmith's models, 0.7-1.6 s of a process's start, which `hrbot search` and every CLI command that only searches
do not need (issue 24's fresh-process target)."""
from __future__ import annotations

from datetime import date

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from knowledge.search.embeddings import ArrayEmbeddings
from knowledge.search.retrieval import HybridSearcher

# Our models implement LangChain's Embeddings interface without importing it (knowledge/search/embeddings.py).
Embeddings.register(ArrayEmbeddings)


class PolicyRetriever(BaseRetriever):
    """LangChain retriever over the knowledge base, optionally limited to an audience (country)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    k: int = 5
    audiences: list[str] | None = None
    mode: str = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                embedding: np.ndarray | None = None, ml_embedding: np.ndarray | None = None,
                                audiences: list[str] | None = None, as_of: date | None = None) -> list[Document]:
        """`embedding`, `ml_embedding` (optional): the query's vectors when the caller has already computed them;
        `audiences` (optional): this search's audiences instead of the retriever's (one retriever serves every
        asker); `as_of` (optional): the day whose policy versions answer (None: today's)."""
        hits = self.searcher.search(query, self.k, mode=self.mode,
                                    audiences=audiences if audiences is not None else self.audiences,
                                    embedding=embedding, ml_embedding=ml_embedding, as_of=as_of)
        return [hit.to_document() for hit in hits]
