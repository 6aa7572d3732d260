"""One embedding space: a different model is a clear error with the fix; `hrbot reembed` moves everything."""
import pytest

from knowledge.cli import main
from knowledge.embeddings import OpenAICompatibleEmbeddings
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
    other.searcher._space_checked = False
    hits = other.searcher.search("book leave Fernhill People", 1)
    assert hits[0].section == "Booking"
    embedded_inputs = [b["input"] for path, b in fake_openai.requests if path.endswith("/embeddings")]
    assert any("Book leave in Fernhill People." in str(i) for i in embedded_inputs)
    # and the local model is now the mismatch
    with pytest.raises(EmbeddingModelMismatch):
        Runtime(settings, db=db, embeddings=runtime.embeddings).searcher.search("leave", 1)


def test_database_down_is_a_kind_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://hr@127.0.0.1:1/hrbot?connect_timeout=2")
    monkeypatch.chdir(tmp_path)  # no stray .env
    with pytest.raises(SystemExit) as exit_info:
        main(["docs"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: The database is not reachable right now.")
    assert "Traceback" not in err and "127.0.0.1" not in err
