"""Ingestion into the real database: every file type, no-op re-ingest, atomic replace, bad files, removal."""
import json
from pathlib import Path

import pytest

from knowledge.errors import NotFound
from knowledge.documents.ingest import Ingestor
from tests.files import docx_bytes, encrypted_pdf_bytes, pdf_bytes

LEAVE_V1 = "# Leave\n\n## Carry-over\n\nYou may carry over up to five days of annual leave into January.\n"
LEAVE_V2 = "# Leave\n\n## Carry-over\n\nYou may carry over up to eight days of annual leave into January.\n"


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def active_sources(db) -> dict[str, int]:
    with db.connection() as conn:
        return dict(conn.execute("SELECT source, version FROM documents WHERE status = 'active'").fetchall())


def test_every_supported_type_is_searchable(runtime, tmp_path, invoke):
    write(tmp_path, "handbook.md", "# Handbook\n\n## Bikes\n\nThe cycle-to-work scheme saves on a new bicycle.\n")
    write(tmp_path, "benefits.pdf", pdf_bytes([["# 1. Overview", "Welcome to the benefits guide."],
                                               ["# 2. Dental", "Dental implants are not covered by SmileCare."]]))
    write(tmp_path, "parental.docx", docx_bytes("Parental", [(1, "Adoption", ["Adopters get 26 weeks paid."])]))
    write(tmp_path, "sick.html", "<html><body><h1>Sick</h1><h2>Notes</h2><p>A fit note is needed from day 8.</p>")
    write(tmp_path, "faq.txt", "Payroll runs on the 25th of each month.\n")
    results = runtime.ingestor.ingest_paths([tmp_path])
    assert sorted((r.source, r.status) for r in results) == [
        ("benefits.pdf", "added"), ("faq.txt", "added"), ("handbook.md", "added"), ("parental.docx", "added"),
        ("sick.html", "added")]

    expectations = {
        "Are dental implants covered?": ("benefits.pdf", 2, "Dental"),
        "bicycle scheme": ("handbook.md", None, "Bikes"),
        "adoption pay weeks": ("parental.docx", None, "Adoption"),
        "when do I need a fit note": ("sick.html", None, "Notes"),
        "when does payroll run each month": ("faq.txt", None, ""),
    }
    for question, (source, page, section) in expectations.items():
        result = invoke("search", question, "--k", "1", "--json")
        assert result.exit_code == 0, result.output
        [hit] = json.loads(result.output)
        assert (hit["source"], hit["page"], hit["section"]) == (source, page, section), question
        assert set(hit) == {"source", "page", "pages", "section", "sections", "score", "text", "document_id"}
        assert hit["sections"] == [section]  # one passage: its own section
        assert isinstance(hit["document_id"], int) and hit["score"] > 0


def test_same_content_again_is_a_no_op(runtime, tmp_path, count_rows):
    path = write(tmp_path, "leave.md", LEAVE_V1)
    [first] = runtime.ingestor.ingest_paths([path])
    chunks = count_rows("chunks")
    [again] = runtime.ingestor.ingest_paths([path])
    assert first.status == "added"
    assert (again.status, again.reason, again.version) == ("unchanged", "already up to date", 1)
    assert count_rows("documents") == 1 and count_rows("chunks") == chunks


def test_changed_file_replaces_the_old_version(runtime, tmp_path, db):
    path = write(tmp_path, "leave.md", LEAVE_V1)
    runtime.ingestor.ingest_paths([path])
    path.write_text(LEAVE_V2)
    [result] = runtime.ingestor.ingest_paths([path])
    assert (result.status, result.version) == ("replaced", 2)
    hits = runtime.searcher.search("how many days can I carry over", 5)
    assert [h.text for h in hits] == ["You may carry over up to eight days of annual leave into January."]
    with db.connection() as conn:
        rows = conn.execute("SELECT version, status, chunk_count FROM documents ORDER BY version").fetchall()
        orphans = conn.execute(
            "SELECT count(*) FROM chunks c JOIN documents d USING (document_id) WHERE d.status <> 'active'"
        ).fetchone()[0]
    assert rows == [(1, "superseded", 1), (2, "active", 1)]
    assert orphans == 0


def test_failure_mid_replace_leaves_the_old_version_answering(runtime, tmp_path, db, count_rows):
    path = write(tmp_path, "leave.md", LEAVE_V1)
    runtime.ingestor.ingest_paths([path])
    before = (count_rows("documents"), count_rows("chunks"))
    # A real database failure part-way through writing the new version's chunks.
    with db.connection() as conn:
        conn.execute("""
            CREATE FUNCTION fail_on_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.text LIKE '%%POISON%%' THEN RAISE EXCEPTION 'disk full (simulated)'; END IF;
                  RETURN NEW; END $$;
            CREATE TRIGGER fail_on_poison BEFORE INSERT ON chunks FOR EACH ROW EXECUTE FUNCTION fail_on_poison();
        """)
    try:
        sections = "".join(f"\n## Part {i}\n\nRule number {i} applies to leave.\n" for i in range(5))
        path.write_text(LEAVE_V2 + sections + "\n## Last\n\nPOISON sentence.\n")
        [result] = runtime.ingestor.ingest_paths([path])
    finally:
        with db.connection() as conn:
            conn.execute("DROP TRIGGER fail_on_poison ON chunks; DROP FUNCTION fail_on_poison();")
    assert result.status == "failed"
    assert "nothing was changed" in result.reason and "disk full" not in result.reason
    assert (count_rows("documents"), count_rows("chunks")) == before
    assert active_sources(db) == {"leave.md": 1}
    hits = runtime.searcher.search("how many days can I carry over", 1)
    assert "five days" in hits[0].text


def test_bad_files_are_reported_and_change_nothing(runtime, tmp_path, db, count_rows):
    write(tmp_path, "good.md", LEAVE_V1)
    bad = {
        "corrupt.pdf": b"%PDF-1.4 garbage garbage",
        "locked.pdf": encrypted_pdf_bytes(),
        "empty.txt": b"",
        "scan.pdf": __import__("tests.files", fromlist=["x"]).blank_pdf_bytes(),
        "huge.md": "# Big\n\n" + "word " * 400_000,
        "slides.pptx": b"PK\x03\x04",
    }
    paths = [write(tmp_path, name, data) for name, data in bad.items()]
    ingestor = Ingestor(db, runtime.embeddings, max_bytes=1_000_000)
    results = {r.source: r for r in ingestor.ingest_paths(paths + [tmp_path / "good.md", tmp_path / "gone.md"])}
    assert results["good.md"].status == "added"
    reasons = {name: results[name].reason for name in list(bad) + ["gone.md"]}
    assert all(results[name].status == "rejected" for name in reasons)
    assert "corrupt" in reasons["corrupt.pdf"]
    assert "password" in reasons["locked.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "no extractable text" in reasons["scan.pdf"]
    assert "limit is 1 MB" in reasons["huge.md"]
    assert "not supported" in reasons["slides.pptx"]
    assert "does not exist" in reasons["gone.md"]
    assert active_sources(db) == {"good.md": 1}
    assert count_rows("documents") == 1


def test_cli_ingest_prints_a_summary_and_fails_on_rejects(invoke, tmp_path):
    write(tmp_path, "good.md", LEAVE_V1)
    write(tmp_path, "bad.pdf", b"%PDF-1.4 nope")
    result = invoke("ingest", str(tmp_path))
    assert result.exit_code == 1
    assert "added     good.md" in result.output
    assert "rejected  bad.pdf: The PDF could not be read" in result.output
    assert "2 files: 1 added, 0 replaced, 0 unchanged, 1 rejected" in result.output
    result = invoke("ingest", str(tmp_path / "good.md"), "--json")
    data = json.loads(result.output)
    assert data["results"][0]["status"] == "unchanged"
    assert data["summary"]["unchanged"] == 1 and result.exit_code == 0


def test_removal_takes_effect_at_once(runtime, tmp_path, invoke):
    runtime.ingestor.ingest_paths([write(tmp_path, "leave.md", LEAVE_V1)])
    assert runtime.searcher.search("carry over", 3)
    result = invoke("remove", "leave.md")
    assert result.exit_code == 0 and "Removed leave.md" in result.output
    assert runtime.searcher.search("carry over", 3) == []
    with pytest.raises(NotFound):
        runtime.ingestor.remove("leave.md")


def test_audience_limits_who_finds_a_document(runtime, tmp_path):
    runtime.ingestor.ingest_paths([write(tmp_path, "de-leave.md", "# DE\n\n## Urlaub\n\nBerlin staff get 30 days.\n")],
                                  audience="de")
    runtime.ingestor.ingest_paths([write(tmp_path, "all.md", "# All\n\n## Leave\n\nEveryone books leave early.\n")])
    def sources(audiences):
        return {h.source for h in runtime.searcher.search("how many leave days", 5, audiences=audiences)}
    assert sources(["GB"]) == {"all.md"}
    assert sources(["DE"]) == {"all.md", "de-leave.md"}
    assert sources(None) == {"all.md", "de-leave.md"}


def test_two_uploads_of_one_changed_file_at_once_store_one_new_version(runtime, db):
    """Both see version 1, both parse and embed the new content, one stores it; the other finds it stored and
    says so instead of writing an identical version 3 (issue 14 item 8)."""
    import threading

    from knowledge.documents.ingest import Ingestor

    runtime.ingestor.ingest_bytes("policy.md", b"# Policy\n\nVersion one.\n", uploaded_by="test")
    barrier = threading.Barrier(2, timeout=30)
    real = runtime.embeddings

    class Together:  # both uploads are past their first check before either embeds
        model_name = real.model_name
        batch_size = 64

        def embed_documents(self, texts):
            barrier.wait()
            return real.embed_array(texts)

    ingestor = Ingestor(db, Together(), max_bytes=10_000_000)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        ingestor.ingest_bytes("policy.md", b"# Policy\n\nVersion two.\n", uploaded_by="test"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status for r in results) == ["replaced", "unchanged"]
    with db.connection() as conn:
        assert conn.execute("SELECT version, status FROM documents ORDER BY version").fetchall() == [
            (1, "superseded"), (2, "active")]


def test_a_document_too_big_to_embed_is_refused_before_any_work(runtime, db, tmp_path):
    """Bytes say little: a text file under the size limit can still be tens of thousands of passages. It is
    refused after chunking, before embedding (issue 14 item 6)."""
    from knowledge.documents.ingest import Ingestor

    class NoEmbedding:
        model_name = "never"

        def embed_documents(self, texts):
            raise AssertionError("embedding started")

    ingestor = Ingestor(db, NoEmbedding(), max_bytes=10_000_000, max_chunks=50)
    big = "\n\n".join(f"Paragraph {i}: " + "words " * 120 for i in range(200)).encode()
    result = ingestor.ingest_bytes("huge.txt", big, uploaded_by="test")
    assert result.status == "rejected"
    assert "The file would become" in result.reason and "the limit is 50" in result.reason
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)
