"""The objects an entry point builds once and passes down: settings, database, models, ingestor, searcher."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from knowledge.database.connection import Database
from knowledge.settings import Settings

SAMPLE_DOCS = Path(__file__).resolve().parent / "sample" / "docs"
SAMPLE_RECORDS = Path(__file__).resolve().parent / "sample" / "records"
SAMPLE_RECORD_FILES = ["employees.csv", "public_holidays.csv", "entitlements.csv", "leave.csv"]  # import order


def rebuild_after_new_key(conn, key) -> None:
    """What is made with the binding key, made again when the key is new (a rotation, or the table is new)."""
    from knowledge.people.colleagues import refresh_colleague_names

    refresh_colleague_names(conn, key)


class Runtime:
    """Lazily builds what a command needs; tests pass ready-made parts (a test database, a loaded model)."""

    def __init__(self, settings: Settings, *, db: Database | None = None, embeddings=None, llm=None,
                 profile=None):
        self.configured = settings  # as given; `settings` adds what the company profile provides
        if profile is not None:
            self.__dict__["profile"] = profile
        if db is not None:
            self.__dict__["db"] = db
        if embeddings is not None:
            self.__dict__["embeddings"] = embeddings
        if llm is not None:
            self.__dict__["llm"] = llm
        self._owns_db = db is None

    @cached_property
    def profile(self):
        """The company profile (HRBOT_PROFILE, else the sample company's): loaded whole or not at all."""
        from knowledge.profile.load import load_profile

        return load_profile(self.configured.profile_path)

    @cached_property
    def settings(self) -> Settings:
        return self.configured.with_profile(self.profile)

    @cached_property
    def db(self) -> Database:
        return Database.open(self.settings, rebuild=rebuild_after_new_key)

    def unmigrated_db(self) -> Database:
        """The database, opened without applying migrations (for `hrbot db upgrade|status`, which report them)."""
        if "db" not in self.__dict__:
            self.__dict__["db"] = Database.open(self.settings, migrate=False)
        return self.db

    @cached_property
    def embeddings(self):
        from knowledge.search.embeddings import build_embeddings

        return build_embeddings(self.settings)

    @cached_property
    def multilingual(self):
        """The second, multilingual embedding (None when HRBOT_MULTILINGUAL=off, or 'auto' and the company asks
        in one language); shared by the process."""
        from knowledge.search.embeddings import build_multilingual

        return build_multilingual(self.settings, languages=len(self.profile.languages))

    @cached_property
    def ingestor(self):
        from knowledge.documents.ingest import Ingestor

        # Ingestion writes as the owner: the first document types the vector column and builds its index.
        return Ingestor(self.db.owner, self.embeddings, max_bytes=self.settings.max_upload_bytes,
                        max_chunks=self.settings.max_chunks, max_pages=self.settings.max_pages,
                        max_unzipped_bytes=int(self.settings.max_unzipped_mb * 1024 * 1024),
                        max_zip_ratio=self.settings.max_zip_ratio, parse_seconds=self.settings.parse_seconds,
                        multilingual=self.multilingual)

    @cached_property
    def searcher(self):
        from knowledge.search.retrieval import HybridSearcher

        from knowledge.search.embeddings import multilingual_mode

        default = self.profile.languages[0]
        wants = None
        if multilingual_mode(self.settings) == "auto":
            wants = lambda question: self.profile.language_of(question) != default  # noqa: E731
        reranker = locator = None
        if self.settings.rerank:
            from knowledge.answering.pages import sentence_locator
            from knowledge.answering.selection import MeaningScorer, SentenceReranker
            from knowledge.search.embeddings import ArrayEmbeddings
            from knowledge.search.sentences import passage_sentences

            if isinstance(self.embeddings, ArrayEmbeddings):
                # the candidates' sentence vectors come stored with them; these are for passages stored before
                reranker = SentenceReranker(
                    MeaningScorer(self.embeddings, "primary"),
                    lambda text, section: [in_context for _, in_context in passage_sentences(text, section)])
                locator = sentence_locator(reranker.scorer)  # the page of the sentence the re-ranker judged best
        first_language = lambda question: self.profile.language_of(question) == default  # noqa: E731
        searcher = HybridSearcher(self.db, self.embeddings, multilingual=self.multilingual, multilingual_for=wants,
                                  reranker=reranker, locator=locator, rerank_for=first_language,
                                  speller=self.speller(first_language))
        return searcher

    def speller(self, applies):
        """Misspelt words corrected against the knowledge base's vocabulary, for questions in the documents'
        language; the local model's own vocabulary names the words that are spelt right."""
        from knowledge.search.embeddings import LocalEmbeddings
        from knowledge.search.minilm import shipped_model_dir
        from knowledge.search.spelling import Speller, model_vocabulary

        local = isinstance(self.embeddings, LocalEmbeddings)
        return Speller(self.db, model_vocabulary(shipped_model_dir()) if local else frozenset(), applies)

    @cached_property
    def records(self):
        from knowledge.people.records import RecordsReader

        return RecordsReader(self.db)

    @cached_property
    def llm(self):
        from knowledge.answering.models import build_chat_model

        return build_chat_model(self.settings)

    @cached_property
    def answers(self):
        from knowledge.answering.chain import AnswerService

        return AnswerService(self.searcher, self.records, self.settings, self.profile, llm=self.llm)

    @cached_property
    def admins(self):
        from knowledge.operations.admin import Admins

        return Admins(self.db, self.settings.admin_ids)

    def load_samples(self) -> None:
        """The sample company's documents and records (idempotent: unchanged files are no-ops)."""
        from knowledge.people.imports import import_csv

        self.ingestor.ingest_paths([SAMPLE_DOCS], uploaded_by="samples")
        for name in SAMPLE_RECORD_FILES:
            import_csv(self.db, (SAMPLE_RECORDS / name).read_bytes(), actor="samples", name=name,
                       profile=self.profile)

    def close(self) -> None:
        if self._owns_db and "db" in self.__dict__:
            self.db.close()
