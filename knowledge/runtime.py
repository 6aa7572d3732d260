"""The objects an entry point builds once and passes down: settings, database, models, ingestor, searcher."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from knowledge.db import Database
from knowledge.settings import Settings

SAMPLE_DOCS = Path(__file__).resolve().parent / "sample" / "docs"


class Runtime:
    """Lazily builds what a command needs; tests pass ready-made parts (a test database, a loaded model)."""

    def __init__(self, settings: Settings, *, db: Database | None = None, embeddings=None):
        self.settings = settings
        if db is not None:
            self.__dict__["db"] = db
        if embeddings is not None:
            self.__dict__["embeddings"] = embeddings
        self._owns_db = db is None

    @cached_property
    def db(self) -> Database:
        return Database.open(self.settings)

    @cached_property
    def embeddings(self):
        from knowledge.embeddings import build_embeddings

        return build_embeddings(self.settings)

    @cached_property
    def ingestor(self):
        from knowledge.ingest import Ingestor

        return Ingestor(self.db, self.embeddings, max_bytes=self.settings.max_upload_bytes)

    @cached_property
    def searcher(self):
        from knowledge.retrieval import HybridSearcher

        return HybridSearcher(self.db, self.embeddings)

    def close(self) -> None:
        if self._owns_db and "db" in self.__dict__:
            self.db.close()
