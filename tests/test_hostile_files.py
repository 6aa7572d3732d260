"""Files that cost far more than they look (an operator's fault probe): each is refused within seconds with its own
reason, and a good file after it in the same batch is still ingested. Every hostile file is built here."""
from __future__ import annotations

import io
import time
import zipfile

import pytest

from knowledge.documents.guards import Limits
from knowledge.documents.loaders import parse
from knowledge.errors import DocumentRejected, ParseTooSlow
from tests.files import docx_bytes, entity_bomb_docx, inflated_docx, long_pdf, same_line_pdf


HOSTILE = {  # name: (builder, words its reason must hold)
    "a-bomb.docx": (entity_bomb_docx, "contains XML entity declarations (a possible 'billion laughs' attack)"),
    "b-inflated.docx": (inflated_docx, "unpacks 135 times larger"),
    "c-long.pdf": (lambda: long_pdf(10_000), "The PDF has 10,000 pages; the limit is 1,500"),
    "d-same.pdf": (same_line_pdf, "Every page holds the same text (a header or footer only)"),
    "e-passages.docx": (lambda: inflated_docx(varied=True), "would become 8,372 passages; the limit is 5,000"),
}


def refused(name: str, data: bytes, limits: Limits | None = None) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(DocumentRejected) as caught:
        parse(name, data, limits)
    return str(caught.value), time.monotonic() - started


@pytest.mark.parametrize("name", [n for n in HOSTILE if n != "e-passages.docx"])  # that one is the chunk limit's
def test_each_hostile_file_is_refused_by_the_loader_quickly_with_its_own_reason(name):
    build, reason = HOSTILE[name]
    message, seconds = refused(name, build())
    assert reason in message
    # How fast: benchmarks/hostile_files.py (timed tests flake on a shared CI machine; the figures are there)


def test_the_inflated_docx_is_small_on_disk_and_large_inside():
    data = inflated_docx()
    parts = {p.filename: p.file_size for p in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    assert len(data) < 120_000 and parts["word/document.xml"] > 8_000_000


def test_a_docx_larger_than_the_unzipped_limit_is_refused_before_it_is_read():
    message, seconds = refused("big.docx", inflated_docx(varied=True), Limits(max_unzipped_bytes=4 * 1024 * 1024))
    assert "unpacks to 9 MB; the limit is 4 MB (HRBOT_MAX_UNZIPPED_MB)" in message


def test_a_page_tree_that_understates_its_pages_is_stopped_at_the_limit():
    message, _ = refused("liar.pdf", long_pdf(60, declared=1), Limits(max_pages=50))
    assert "more than 50 pages" in message


def test_a_pdf_with_a_running_header_and_a_body_still_reads():
    doc = parse("fine.pdf", long_pdf(20, line=lambda n: f"Acme handbook\nClause {n}: " + "leave " * n))
    assert len(doc.blocks) == 20 and all("Acme handbook" not in b.text for b in doc.blocks)


def test_a_file_over_its_time_budget_is_stopped_with_a_reason_naming_it_and_the_budget():
    data = docx_bytes("Slow", [(1, "Leave", ["Everyone gets 30 days."])])
    with pytest.raises(ParseTooSlow) as caught:
        parse("handbook.docx", data, Limits(seconds=0))
    assert "handbook.docx took longer than 0 s (the limit, HRBOT_PARSE_SECONDS)" in str(caught.value)


def test_any_exception_from_a_parser_is_a_rejection_not_a_traceback(monkeypatch):
    from knowledge.documents import loaders

    broken = docx_bytes("X", [(1, "Y", ["Z"])]).replace(b"word/document.xml", b"word/document.xmm")
    assert "could not be" in refused("broken.docx", broken)[0]
    torn = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes("X", [(1, "Y", ["Z"])]))) as source, \
            zipfile.ZipFile(torn, "w") as target:
        for part in source.infolist():
            target.writestr(part, source.read(part)[:200] if part.filename == "word/document.xml" else
                            source.read(part))
    message = refused("torn.docx", torn.getvalue())[0]
    assert message.startswith("The Word file could not be read: it looks damaged") and "XMLSyntaxError" in message
    for exc, words in ((RecursionError(), "nested too deeply"), (MemoryError(), "more memory")):
        def explode(*args, exc=exc):
            raise exc
        monkeypatch.setattr(loaders, "parse_text", explode)
        assert words in refused("notes.txt", b"some text")[0]


def test_html_entities_declared_in_the_file_are_not_expanded():
    html = (b'<!DOCTYPE html [<!ENTITY secret SYSTEM "file:///etc/passwd"><!ENTITY lol "LOLLOLLOL">]>'
            b"<html><body><p>Before &secret; and &lol; after.</p></body></html>")
    text = " ".join(b.text for b in parse("page.html", html).blocks)
    assert "root:" not in text and "LOLLOLLOL" not in text and "Before" in text


# --- a batch: the hostile files first, a good file after them -------------------------------------------------

def hostile_folder(tmp_path):
    folder = tmp_path / "drive"
    folder.mkdir()
    for name, (build, _) in HOSTILE.items():
        (folder / name).write_bytes(build())
    (folder / "z-good.md").write_text("# Leave\n\nEveryone gets thirty days of annual leave.\n")
    return folder


def test_ingest_refuses_each_hostile_file_and_goes_on_to_the_good_one(runtime, tmp_path):
    results = {r.source: r for r in runtime.ingestor.ingest_paths([hostile_folder(tmp_path)])}
    assert results["z-good.md"].status == "added"
    for name, (_, reason) in HOSTILE.items():
        assert results[name].status == "rejected" and reason in results[name].reason, results[name]


def test_the_cli_reports_each_rejection_and_exits_1_and_sync_goes_on_too(invoke, tmp_path):
    folder = hostile_folder(tmp_path)
    result = invoke("ingest", str(folder))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "added     z-good.md" in result.output
    for name, (_, reason) in HOSTILE.items():
        assert f"rejected  {name}: " in result.output and reason in result.output
    assert "6 files: 1 added, 0 replaced, 0 unchanged, 5 rejected" in result.output
    (folder / "y-also-good.txt").write_text("Payroll runs on the 25th.\n")
    synced = invoke("sync", str(folder))
    assert synced.exit_code == 1 and "1 added" in synced.output and "5 rejected" in synced.output
    assert "a-bomb.docx: The Word file contains XML entity declarations" in synced.output


def test_a_folder_source_brings_in_the_good_files_and_names_the_hostile_ones(runtime, store, tmp_path):
    from knowledge.sources.runner import run_source

    folder = hostile_folder(tmp_path)
    source = store.add("drive", "folder", {"path": str(folder)}, 3600)
    result = run_source(runtime.ingestor, store, source)
    with runtime.db.connection() as conn:
        active = {row[0] for row in conn.execute("SELECT source FROM documents WHERE status = 'active'")}
    assert active == {"z-good.md"}
    # Rejected files are reported, not a failed run: they would fail every run until someone fixes them, and a
    # failed run used to keep deleted documents citable (issue 23 item 4).
    assert result.status == "ok" and result.changes["rejected"] == 5
    reasons = result.changes["rejected because"]
    assert "a-bomb.docx: The Word file contains XML entity declarations" in reasons
    assert reasons.endswith("; and 2 more")
    assert "Error" not in reasons.split(":")[0]  # a reason, not an exception's name


def test_a_nul_byte_in_a_text_file_is_dropped_not_a_database_refusal():
    """Outside review: a .txt with a NUL was refused as "The database refused this file" after all its embedding
    (PostgreSQL text cannot hold NUL)."""
    from knowledge.documents.loaders import parse

    doc = parse("nul.txt", b"Dental implants are covered\x00 in full after an accident.")
    assert "\x00" not in "".join(b.text for b in doc.blocks)
    assert "covered in full" in doc.blocks[0].text
