"""Scheduled sources against real local servers: a web site with ETags, sitemaps, deletions, rate limits and
refusals, and a folder; one run per source at a time; a failing run removes nothing (issue 11)."""
import time

import pytest

from knowledge.errors import ConfigurationError
from knowledge.sources.runner import LOCK, UNLOCK, run_source
from knowledge.sources.store import parse_every
from tests.fakes.http import FakeService

PAGE = "<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"


class FakeSite(FakeService):
    """Pages with ETags (304 on If-None-Match), a sitemap, and knobs: delete a page, 429 once, refuse all."""

    def __init__(self):
        self.pages = {
            "/leave": ("Leave policy", "Employees receive 30 days of annual leave each year."),
            "/dental": ("Dental plan", "The dental plan covers implants up to 2,000 euros a year."),
        }
        self.versions = {path: 1 for path in self.pages}
        self.throttle_once: set[str] = set()
        self.refuse = False
        self.need_auth: str | None = None
        super().__init__()
        self.base = self.base_url

    def answer(self, call):
        if self.refuse or (self.need_auth and call.headers.get("Authorization") != self.need_auth):
            return 403, b"forbidden", None
        if call.path in self.throttle_once:
            self.throttle_once.discard(call.path)
            return 429, b"slow down", {"Retry-After": "1"}
        if call.path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{self.base}{p}</loc></url>" for p in self.pages)
            return 200, (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}'
                         "</urlset>").encode(), {"Content-Type": "application/xml"}
        if call.path not in self.pages:
            return 404, b"gone", None
        etag = f'"{call.path}-v{self.versions[call.path]}"'
        if call.headers.get("If-None-Match") == etag:
            return 304, b"", {"ETag": etag}
        title, body = self.pages[call.path]
        return 200, PAGE.format(title=title, body=body).encode(), {"Content-Type": "text/html; charset=utf-8",
                                                                    "ETag": etag}

    def change(self, path, body):
        self.pages[path] = (self.pages[path][0], body)
        self.versions[path] += 1


@pytest.fixture
def site():
    s = FakeSite()
    yield s
    s.close()


def _active(runtime) -> dict:
    with runtime.db.connection() as conn:
        return dict(conn.execute("SELECT source, version FROM documents WHERE status = 'active'").fetchall())


def test_a_sitemap_source_is_incremental_and_follows_deletions(runtime, store, site):
    source = store.add("intranet", "web", {"sitemap": site.base + "/sitemap.xml"}, parse_every("1h"))
    first = run_source(runtime.ingestor, store, source)
    assert (first.status, first.changes) == ("ok", {"added": 2, "replaced": 0, "removed": 0, "unchanged": 0})
    host = site.base.removeprefix("http://")
    assert set(_active(runtime)) == {f"{host}/leave.html", f"{host}/dental.html"}
    hits = runtime.searcher.search("does dental cover implants", 3)
    assert hits and hits[0].source == f"{host}/dental.html" and hits[0].url == site.base + "/dental"

    site.calls.clear()
    again = run_source(runtime.ingestor, store, store.get("intranet"))
    assert again.changes == {"added": 0, "replaced": 0, "removed": 0, "unchanged": 2}
    assert all(c.headers.get("If-None-Match") for c in site.calls if c.path != "/sitemap.xml")  # conditional GETs

    site.change("/leave", "Employees receive 32 days of annual leave each year.")
    del site.pages["/dental"]  # gone from the sitemap and the site
    third = run_source(runtime.ingestor, store, store.get("intranet"))
    assert third.changes == {"added": 0, "replaced": 1, "removed": 1, "unchanged": 0}
    assert _active(runtime) == {f"{host}/leave.html": 2}
    status = store.get("intranet")
    assert status.failures == 0 and status.last_success_at is not None and status.last_changes["removed"] == 1


def test_a_page_that_404s_is_retired_and_rate_limits_are_waited_out(runtime, store, site):
    source = store.add("pages", "web", {"urls": [site.base + "/leave", site.base + "/dental"]}, 3600)
    run_source(runtime.ingestor, store, source)
    del site.pages["/dental"]
    site.throttle_once.add("/leave")
    started = time.monotonic()
    result = run_source(runtime.ingestor, store, store.get("pages"))
    assert result.status == "ok" and result.changes["removed"] == 1 and result.changes["unchanged"] == 1
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured


def test_a_refused_run_changes_nothing_backs_off_and_tells_the_admins_after_three(runtime, store, site):
    source = store.add("intranet", "web", {"sitemap": site.base + "/sitemap.xml"}, 3600)
    run_source(runtime.ingestor, store, source)
    before = _active(runtime)
    site.refuse = True
    alerts = []
    for n in range(1, 5):
        result = run_source(runtime.ingestor, store, store.get("intranet"),
                            alert=lambda s, failures, error: alerts.append((s.name, failures, error)))
        assert result.status == "failed" and result.failures == n
        assert "refused access (403)" in result.error
    assert _active(runtime) == before  # nothing retired by a run that could not see the source
    status = store.get("intranet")
    assert status.failures == 4 and "403" in status.last_error
    assert [a[1] for a in alerts] == [3]  # once "until it works again" (issue 23 item 3), not on every failure
    with runtime.db.connection() as conn:
        wait = conn.execute("SELECT extract(epoch FROM next_run_at - now()) FROM sources").fetchone()[0]
    assert 60 * 2 ** 3 - 60 < wait <= 3600  # backoff, capped by the schedule
    site.refuse = False
    assert run_source(runtime.ingestor, store, store.get("intranet")).status == "ok"
    assert store.get("intranet").failures == 0
    site.refuse = True  # failing again after it worked: told again, once
    for _ in range(4):
        run_source(runtime.ingestor, store, store.get("intranet"),
                   alert=lambda s, failures, error: alerts.append((s.name, failures, error)))
    assert [a[1] for a in alerts] == [3, 3]


def test_credentials_are_references_resolved_at_run_time_and_never_stored(runtime, store, site, monkeypatch):
    with pytest.raises(ConfigurationError, match="looks like a credential"):
        store.add("bad", "web", {"urls": [site.base + "/leave"], "api_token": "s3cret"}, 3600)
    site.need_auth = "Bearer t0ken"
    monkeypatch.setenv("INTRANET_AUTH", "Bearer t0ken")
    source = store.add("private", "web", {"urls": [site.base + "/leave"], "auth_header": "env:INTRANET_AUTH"}, 3600)
    assert run_source(runtime.ingestor, store, source).changes["added"] == 1
    with runtime.db.connection() as conn:
        stored = conn.execute("SELECT settings::text FROM sources").fetchone()[0]
        logged = conn.execute("SELECT string_agg(details::text, ' ') FROM audit_log").fetchone()[0] or ""
    assert "t0ken" not in stored and "t0ken" not in logged and "env:INTRANET_AUTH" in stored
    monkeypatch.delenv("INTRANET_AUTH")
    failed = run_source(runtime.ingestor, store, store.get("private"))
    assert failed.status == "failed" and "INTRANET_AUTH is not set" in failed.error


def test_one_run_per_source_at_a_time(runtime, store, site):
    source = store.add("intranet", "web", {"sitemap": site.base + "/sitemap.xml"}, 3600)
    with runtime.db.owner.connection() as other:  # another replica's run holds the source
        other.execute(LOCK, {"id": source.source_id})
        assert run_source(runtime.ingestor, store, source).status == "busy"
        other.execute(UNLOCK, {"id": source.source_id})
    assert run_source(runtime.ingestor, store, source).status == "ok"


def test_a_folder_source_and_the_cli(invoke, runtime, tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 30 days of annual leave.\n")
    (folder / "travel.md").write_text("# Travel\n\nBook trains in standard class.\n")
    assert "Added source share" in invoke("sources", "add", "share", "--kind", "folder", "--path", str(folder),
                                          "--every", "30m").output
    ran = invoke("sources", "run", "share")
    assert ran.exit_code == 0 and "added 2" in ran.output
    (folder / "travel.md").unlink()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 31 days of annual leave.\n")
    assert "replaced 1, removed 1" in invoke("sources", "run").output
    listed = invoke("sources", "list").output
    assert "share" in listed and "folder" in listed and "every 30 min" in listed and "removed 1" in listed
    assert "retired 1 documents" in invoke("sources", "remove", "share").output
    assert _active(runtime) == {}
    assert "No sources yet" in invoke("sources", "list").output


def test_a_rejected_file_never_keeps_a_deleted_policy_citable(runtime, store, tmp_path):
    """A scanned PDF without text in the folder used to fail every run, and a failed run removed nothing: a policy
    deleted from the folder stayed citable for ever. Now the listing decides what is gone; the rejected file is
    reported with its reason (issue 23 item 4)."""
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 30 days of annual leave.\n")
    (folder / "old-travel.md").write_text("# Travel\n\nBook trains in first class.\n")
    source = store.add("share", "folder", {"path": str(folder)}, 3600)
    assert run_source(runtime.ingestor, store, source).changes["added"] == 2
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                                      b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                                      b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
                                      b"trailer<</Root 1 0 R>>\n%%EOF\n")
    (folder / "old-travel.md").unlink()
    result = run_source(runtime.ingestor, store, store.get("share"))
    assert result.status == "ok" and result.changes["removed"] == 1 and result.changes["rejected"] == 1
    assert "scan.pdf" in result.changes["rejected because"]
    assert set(_active(runtime)) == {"leave.md"}


def test_a_folder_source_and_hrbot_sync_refuse_and_leave_out_files_by_one_rule(runtime, store, tmp_path, monkeypatch):
    """Both run the folder kind: a file too large is a rejection (the run goes on, the old version stays) and is
    not read into memory; a file named like a secret is left out and said so."""
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 30 days of annual leave.\n")
    (folder / "api-token.md").write_text("# Token\n\nnot a policy\n")
    source = store.add("share", "folder", {"path": str(folder)}, 3600)
    first = run_source(runtime.ingestor, store, source)
    assert first.changes["added"] == 1 and first.changes["skipped"] == 1
    assert "api-token.md: its name looks like a secret" in first.changes["skipped because"]
    (folder / "leave.md").write_text("# Leave\n\n" + "Everyone gets 31 days of annual leave. " * 50 + "\n")
    monkeypatch.setattr(runtime.ingestor, "max_bytes", 100)
    result = run_source(runtime.ingestor, store, store.get("share"))
    assert result.status == "ok" and result.changes["rejected"] == 1
    assert "leave.md: The file is 0.0 MB; the limit is 0 MB" in result.changes["rejected because"]
    assert _active(runtime) == {"leave.md": 1}


def test_a_run_holds_none_of_the_owner_pools_connections(runtime, store, site, monkeypatch):
    """The run's lock lives on a connection of its own: other owner work goes on during a long run (the embedded
    owner pool has 2 connections; issue 23 item 5)."""
    import knowledge.sources.transport as transport

    source = store.add("intranet", "web", {"sitemap": site.base + "/sitemap.xml"}, 3600)
    seen = []
    real = transport.request

    def slow(*args, **kwargs):  # while the run waits on the network, the owner pool must have room
        pool = runtime.db.owner.pool
        seen.append(pool.get_stats().get("pool_available", 0) + pool.max_size - pool.get_stats().get("pool_size", 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(transport, "request", slow)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    assert seen and min(seen) == runtime.db.owner.pool.max_size


def test_a_schedule_is_a_number_and_a_unit():
    assert parse_every("30m") == 1800 and parse_every("6h") == 21600 and parse_every("1d") == 86400
    for bad in ("often", "10s", "5"):
        with pytest.raises(ConfigurationError):
            parse_every(bad)


def test_admins_are_told_in_slack_when_a_source_keeps_failing(runtime, store, site, fake):
    from tests.slack_helpers import SlackHarness

    harness = SlackHarness(runtime, fake)
    try:
        site.refuse = True
        store.add("intranet", "web", {"sitemap": site.base + "/sitemap.xml"}, 3600)
        for _ in range(3):
            run_source(runtime.ingestor, store, store.get("intranet"), alert=harness.bot.jobs.source_alert)
        [told] = [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == "U0ADMIN"]
        assert "intranet" in told.args["text"] and "3 runs in a row" in told.args["text"]
        assert "403" in told.args["text"]
    finally:
        harness.close()


def test_answers_say_when_a_source_is_stale_and_when_records_were_synced(runtime, store, tmp_path):
    from knowledge.answering.answers import Asker
    from knowledge.people.imports import import_csv
    from tests.test_records_import import EMPLOYEES

    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "leave.md").write_text("# Annual leave\n\nEveryone gets 30 days of annual leave a year.\n")
    source = store.add("share", "folder", {"path": str(folder)}, 3600)
    run_source(runtime.ingestor, store, source)
    import_csv(runtime.db, EMPLOYEES.encode(), actor="test", name="employees.csv")
    fresh = runtime.answers.answer("How many days of annual leave are there in a year?", Asker("U0NOBODY"))
    assert "has not synced" not in fresh.text
    with runtime.db.owner.connection() as conn:  # its last success was three days ago, on an hourly schedule
        conn.execute("UPDATE sources SET last_success_at = now() - interval '3 days', last_run_at = now()")
    runtime.answers.freshness.invalidate()
    stale = runtime.answers.answer("How many days of annual leave are there in a year?", Asker("U0NOBODY"))
    assert "share has not synced since" in stale.text and "out of date" in stale.text
    mine = runtime.answers.answer("How much annual leave do I have?", Asker("U0AAA"))
    assert mine.facts and "Your records as of" in mine.text and mine.records_as_of is not None


def test_a_source_missing_what_its_kind_needs_is_refused_when_added(store):
    with pytest.raises(ConfigurationError, match="A notion source needs root_pages or search"):
        store.add("wiki", "notion", {"token": "env:NOTION_TOKEN"}, 3600)
    with pytest.raises(ConfigurationError, match="A bamboohr source needs company, leave_types"):
        store.add("hr", "bamboohr", {"api_key": "env:BAMBOO_KEY"}, 3600)
    with pytest.raises(ConfigurationError, match="A gdrive source needs key"):
        store.add("drive", "gdrive", {"folder": "x"}, 3600)
    with pytest.raises(ConfigurationError, match="Unknown source kind 'dropbox'"):
        store.add("box", "dropbox", {"folder": "x"}, 3600)
    assert store.list() == []


def test_a_page_without_an_extension_is_parsed_by_its_content_type_and_bytes(runtime, store):
    """/policy served as application/pdf is a PDF, and /handbook sent as application/octet-stream is known by its
    zip bytes to be a DOCX: neither is read as HTML (raw %PDF bytes as a passage)."""
    from tests.files import docx_bytes, pdf_bytes

    pdf = pdf_bytes([["# 1. Sabbaticals", "After five years employees may take a three month sabbatical."]])
    docx = docx_bytes("Handbook", [(1, "Bereavement", ["Employees get five days of bereavement leave."])])

    class Files(FakeService):
        def answer(self, call):
            if call.path == "/policy":
                return 200, pdf, {"Content-Type": "application/pdf"}
            if call.path == "/handbook":
                return 200, docx, {"Content-Type": "application/octet-stream"}
            return 404, b"gone", None

    files = Files()
    try:
        source = store.add("files", "web", {"urls": [files.base_url + "/policy", files.base_url + "/handbook"]}, 3600)
        result = run_source(runtime.ingestor, store, source)
    finally:
        files.close()
    assert result.status == "ok" and result.changes["added"] == 2, result.error
    with runtime.db.connection() as conn:
        rows = conn.execute("SELECT d.media_type, c.text FROM chunks c JOIN documents d USING (document_id) "
                            "WHERE d.status = 'active'").fetchall()
    text = " ".join(t for _, t in rows)
    assert "three month sabbatical" in text and "five days of bereavement leave" in text
    assert "%PDF" not in text and "PK" not in text.split()
    assert {m for m, _ in rows} == {"application/pdf",
                                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
