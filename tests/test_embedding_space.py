"""One embedding space: a different model is a clear error with the fix; `hrbot reembed` moves everything."""
import hashlib

import numpy as np
import pytest

from knowledge.cli import main
from knowledge.search.embeddings import ArrayEmbeddings, OpenAICompatibleEmbeddings
from knowledge.documents.ingest import embedding_text
from knowledge.search.reembed import reembed
from knowledge.search.sentences import heading_of, in_context
from knowledge.errors import EmbeddingModelMismatch
from knowledge.runtime import Runtime
from tests.fakes.openai_server import FakeOpenAI

DOC = "# Leave\n\n## Carry-over\n\nUp to five days carry over.\n\n## Booking\n\nBook leave in Fernhill People.\n"


@pytest.fixture
def fake_openai():
    with FakeOpenAI(dimension=32) as server:
        yield server


def test_switching_model_needs_reembed(runtime, settings, db, tmp_path, fake_openai, capsys):
    (tmp_path / "leave.md").write_text(DOC)
    runtime.ingestor.ingest_paths([tmp_path / "leave.md"])
    remote = OpenAICompatibleEmbeddings("fake-embed", api_key="k", base_url=fake_openai.base_url)
    assert remote.dimension == 32
    other = Runtime(settings, db=db, embeddings=remote)

    with pytest.raises(EmbeddingModelMismatch, match="hrbot reembed"):
        other.searcher.search("carry over", 3)
    (tmp_path / "new.md").write_text("# New\n\nSomething new.\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", str(tmp_path / "new.md")], obj=other)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "embedded with sentence-transformers/all-MiniLM-L6-v2 (384 dimensions)" in err
    assert "Run `hrbot reembed`" in err and "Traceback" not in err

    main_exit = None
    try:
        main(["reembed"], obj=other)
    except SystemExit as exc:
        main_exit = exc.code
    assert main_exit in (None, 0)
    assert "Re-embedded 2 chunks with openai:fake-embed (32 dimensions)" in capsys.readouterr().out
    hits = other.searcher.search("book leave Fernhill People", 1)
    assert hits[0].section == "Booking"
    embedded_inputs = [b["input"] for path, b in fake_openai.requests if path.endswith("/embeddings")]
    assert any("Book leave in Fernhill People." in str(i) for i in embedded_inputs)
    # and the local model is now the mismatch
    with pytest.raises(EmbeddingModelMismatch):
        Runtime(settings, db=db, embeddings=runtime.embeddings).searcher.search("leave", 1)


def test_database_down_is_a_kind_error_after_retrying(monkeypatch, capsys, tmp_path, caplog):
    import time

    monkeypatch.setenv("DATABASE_URL", "postgresql://hr@127.0.0.1:1/hrbot?connect_timeout=2")
    monkeypatch.setenv("HRBOT_DB_WAIT_SECONDS", "3")
    monkeypatch.chdir(tmp_path)  # no stray .env
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        main(["docs"])
    assert exit_info.value.code == 1
    assert 2.5 < time.monotonic() - started < 15  # it waited (a boot order), then gave up
    err = capsys.readouterr().err
    assert err.startswith("Error: The database is not reachable (Connection refused) after 3 s.")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "127.0.0.1" not in err


class OtherModel(ArrayEmbeddings):
    """Another embedding model of the same dimension, as another process configured differently would use.
    on_first_batch runs once, while a re-embedding is embedding outside its lock."""

    model_name = "test:other-model"
    dimension = 384
    batch_size = 64

    def __init__(self, on_first_batch=None):
        self.on_first_batch = on_first_batch

    def _encode(self, texts):
        if self.on_first_batch:
            hook, self.on_first_batch = self.on_first_batch, None
            hook()
        return np.stack([np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:12], 16))
                         .standard_normal(self.dimension) for t in texts])


def test_a_running_searcher_notices_a_reembed_done_elsewhere(runtime, db, tmp_path):
    (tmp_path / "leave.md").write_text(DOC)
    runtime.ingestor.ingest_paths([tmp_path / "leave.md"])
    assert runtime.searcher.search("carry over", 1)
    reembed(db, OtherModel())  # `hrbot reembed` in another process, with another model of the same size
    with pytest.raises(EmbeddingModelMismatch, match="test:other-model"):
        runtime.searcher.search("carry over", 1)


def test_a_document_ingested_during_a_reembed_is_reembedded_too(runtime, db, tmp_path):
    (tmp_path / "leave.md").write_text(DOC)
    (tmp_path / "late.md").write_text("# Late\n\nThis policy arrived while the re-embedding ran.\n")
    runtime.ingestor.ingest_paths([tmp_path / "leave.md"])
    model = OtherModel(on_first_batch=lambda: runtime.ingestor.ingest_paths([tmp_path / "late.md"]))
    reembed(db, model)
    with db.connection() as conn:
        rows = conn.execute("SELECT d.title, c.section, c.text, c.embedding FROM chunks c "
                            "JOIN documents d USING (document_id)").fetchall()
    assert any(text.startswith("This policy arrived") for _, _, text, _ in rows)
    for title, section, text, stored in rows:
        expected = model.embed_array([embedding_text(title, section, text)])[0]
        assert np.allclose(stored.to_numpy(), expected, atol=1e-5), f"{text[:40]} kept another model's vector"
    # and so did every stored sentence, the late document's included (migration 0019)
    with db.connection() as conn:
        sentences = conn.execute("SELECT s.text, c.section, s.embedding FROM passage_sentences s "
                                 "JOIN chunks c USING (chunk_id)").fetchall()
    assert any(text.startswith("This policy arrived") for text, _, _ in sentences)
    for text, section, stored in sentences:
        expected = model.embed_array([in_context(text, heading_of(section))])[0]
        assert np.allclose(stored.to_numpy().astype(np.float32), expected, atol=2e-3), f"{text[:40]}: old vector"
