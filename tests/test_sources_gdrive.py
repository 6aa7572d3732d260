"""Google Drive (issue 25), against a local Drive v3 and Google token endpoint that answer as Google documents them:
the service account's signed JWT is checked, a first run pages through a folder and its subfolders (Google Docs
exported as DOCX), later runs ask the Changes API from the saved page token and fetch only what changed (edits,
renames, moves, a renamed folder, a folder moved in, trash, lost access), a refused page token forces a full
resync, 429 and 403 rateLimitExceeded are waited out, revoked or undelegated credentials fail kindly with nothing
retired; and push notifications through the real HTTP server queue a run only for this source's channel and token."""
import time
import urllib.request

import pytest

from knowledge.operations import schedule
from knowledge.sources.runner import run_source
from tests.fakes.gdrive_api import DOC, FakeDrive, post
from tests.test_sources import _active

LEAVE = "# Annual leave\n\nEvery employee receives 30 days of paid annual leave per calendar year.\n"
DENTAL = "# Dental plan\n\nThe dental plan covers implants up to 2,000 euros a year.\n"
TRAVEL = "# Travel\n\nBook trains in standard class; flights need your manager's approval first.\n"
REMOTE = "# Remote work\n\nYou may work from home up to three days a week.\n"
SECRET = "drive-notify-4b1e"


@pytest.fixture
def drive(monkeypatch):
    fake = FakeDrive(page_size=2)
    monkeypatch.setenv("GDRIVE_KEY", fake.key_json())
    monkeypatch.setenv("GDRIVE_NOTIFY", SECRET)
    yield fake
    fake.close()


def _settings(fake: FakeDrive, **extra) -> dict:
    return {"key": "env:GDRIVE_KEY", "drive_url": fake.base_url, **extra}


def _folder(fake: FakeDrive):
    """My Drive/HR (shared with the service account) with subfolders, a Doc, a Sheet; Finance beside it."""
    hr = fake.folder("HR")
    policies, benefits = fake.folder("Policies", hr.id), fake.folder("Benefits", hr.id)
    finance = fake.folder("Finance")
    files = {"leave": fake.put(policies.id, "Annual leave", LEAVE, DOC),
             "dental": fake.put(benefits.id, "Dental plan.md", DENTAL),
             "travel": fake.put(hr.id, "Travel.md", TRAVEL),
             "remote": fake.put(hr.id, "Remote work.md", REMOTE),
             "sheet": fake.put(hr.id, "Headcount", "not read", "application/vnd.google-apps.spreadsheet"),
             "budget": fake.put(finance.id, "Budget.md", "# Budget\n\nThe travel budget is 5,000 euros.\n")}
    return hr, {"policies": policies, "benefits": benefits, "finance": finance}, files


def _reads(fake: FakeDrive) -> list[str]:
    """The files whose content was asked for (downloads and exports), by id."""
    return [c.path.split("/")[4] for c in fake.calls
            if c.path.endswith("/export") or c.query.get("alt") == "media"]


def test_a_folder_is_listed_with_its_subfolders_then_only_changes_are_fetched(runtime, store, drive):
    hr, folders, files = _folder(drive)
    archive = drive.folder("Archive")  # elsewhere for now: its file is not a change after the first run
    drive.put(archive.id, "Parental leave.md", "# Parental leave\n\nParents receive 16 weeks of paid leave.\n")
    source = store.add("hr-drive", "gdrive", _settings(drive, folder=f"https://drive.google.com/drive/folders/{hr.id}"),
                       3600)
    first = run_source(runtime.ingestor, store, source)
    assert first.status == "ok", first.error
    assert set(_active(runtime)) == {"hr-drive/Policies/Annual leave.docx", "hr-drive/Benefits/Dental plan.md",
                                     "hr-drive/Travel.md", "hr-drive/Remote work.md"}  # no Sheet, not Finance
    assert any(c.query.get("pageToken") for c in drive.calls if c.path == "/drive/v3/files")  # paged (2 a page)
    exported = [c for c in drive.calls if c.path.endswith("/export")]
    assert exported and exported[0].query["mimeType"].endswith("wordprocessingml.document")
    hit = runtime.searcher.search("how many days of annual leave", 1)[0]
    assert hit.source == "hr-drive/Policies/Annual leave.docx" and "30 days" in hit.text
    assert hit.url == f"https://drive.google.com/file/d/{files['leave'].id}/view"

    drive.calls.clear()
    again = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert again.status == "ok" and again.changes["unchanged"] == 4
    assert [c.path for c in drive.calls] == ["/drive/v3/changes"]  # one call from the saved token

    drive.put(folders["policies"].id, "Annual leave", LEAVE.replace("30 days", "32 days"), DOC)
    drive.rename(files["dental"], "Dental insurance.md")
    drive.move(files["travel"], folders["benefits"].id)
    drive.move(files["remote"], folders["finance"].id)       # out of the folder: retired
    drive.rename(folders["policies"], "Rules")               # reported alone; what is in it follows
    drive.move(archive, hr.id)                               # moved in: what is in it is listed
    drive.trash(files["budget"])                             # outside the folder: nothing to do
    drive.calls.clear()
    third = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert third.status == "ok", third.error
    assert set(_active(runtime)) == {"hr-drive/Rules/Annual leave.docx", "hr-drive/Benefits/Dental insurance.md",
                                     "hr-drive/Benefits/Travel.md", "hr-drive/Archive/Parental leave.md"}
    assert third.changes["removed"] == 1 and third.retired == ["hr-drive/Remote work.md"]
    leave = runtime.searcher.search("how many days of annual leave", 1)[0]
    assert leave.source == "hr-drive/Rules/Annual leave.docx" and "32 days" in leave.text

    drive.trash(files["leave"])
    drive.unshare(files["travel"])                           # access lost: Drive reports it removed
    fourth = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert fourth.status == "ok", fourth.error
    assert set(_active(runtime)) == {"hr-drive/Benefits/Dental insurance.md", "hr-drive/Archive/Parental leave.md"}
    assert fourth.changes["removed"] == 2


def test_a_refused_page_token_forces_a_full_resync_that_retires_what_is_gone(runtime, store, drive):
    hr, folders, files = _folder(drive)
    source = store.add("hr-drive", "gdrive", _settings(drive, folder=hr.id), 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    drive.unshare(files["dental"])
    drive.expire_before = drive.seq + 2  # the saved token is now refused: 400 Invalid Value
    drive.calls.clear()
    result = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert result.status == "ok", result.error
    assert "hr-drive/Benefits/Dental plan.md" not in _active(runtime) and len(_active(runtime)) == 3
    assert result.changes["removed"] == 1 and _reads(drive) == []  # unchanged files are not read again
    assert [c.path for c in drive.calls][:2] == ["/drive/v3/changes", "/drive/v3/changes/startPageToken"]


def test_rate_limits_are_waited_out_and_a_revoked_key_fails_kindly_with_nothing_retired(runtime, store, drive):
    hr, folders, files = _folder(drive)
    source = store.add("hr-drive", "gdrive", _settings(drive, folder=hr.id), 3600)
    drive.throttle, drive.rate_limited = 1, 2
    started = time.monotonic()
    first = run_source(runtime.ingestor, store, source)
    assert first.status == "ok", first.error
    assert time.monotonic() - started >= 1.0 + 1.0 + 2.0  # Retry-After: 1, then backoff 1 s and 2 s
    before = _active(runtime)
    drive.revoke()
    drive.trash(files["leave"])
    failed = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert failed.status == "failed"
    assert "refused the service account" in failed.error and "create a new key" in failed.error
    assert "PRIVATE KEY" not in failed.error
    assert _active(runtime) == before  # nothing retired


def test_a_subject_without_domain_wide_delegation_is_told_how_to_grant_it(runtime, store, drive):
    hr, _, _ = _folder(drive)
    source = store.add("hr-drive", "gdrive", _settings(drive, folder=hr.id, subject="hr@example.com"), 3600)
    failed = run_source(runtime.ingestor, store, source)
    assert failed.status == "failed" and "Domain-wide delegation" in failed.error
    drive.delegated.add("hr@example.com")
    assert run_source(runtime.ingestor, store, store.get("hr-drive")).status == "ok"
    assert len(_active(runtime)) == 4


def test_a_shared_drive_is_listed_whole_and_docs_can_come_as_html(runtime, store, drive):
    shared = drive.shared_drive()
    handbook = drive.folder("Handbook", shared)
    drive.put(shared, "Expenses", "# Expenses\n\nReceipts are due within 30 days.\n", DOC)
    drive.put(handbook.id, "Dental plan.md", DENTAL)
    source = store.add("hr-shared", "gdrive", _settings(drive, drive=shared, export="html"), 3600)
    first = run_source(runtime.ingestor, store, source)
    assert first.status == "ok", first.error
    assert set(_active(runtime)) == {"hr-shared/Expenses.html", "hr-shared/Handbook/Dental plan.md"}
    listed = [c for c in drive.calls if c.path == "/drive/v3/files"]
    assert all(c.query.get("corpora") == "drive" and c.query.get("driveId") == shared for c in listed)
    assert "within 30 days" in runtime.searcher.search("when are receipts due", 1)[0].text
    drive.trash(handbook)  # what is in the folder goes with it
    assert run_source(runtime.ingestor, store, store.get("hr-shared")).changes["removed"] == 1
    assert set(_active(runtime)) == {"hr-shared/Expenses.html"}


def test_a_folder_not_shared_fails_the_run_and_the_folder_trashed_retires_everything_in_it(runtime, store, drive):
    hr, _, _ = _folder(drive)
    mistyped = store.add("typo", "gdrive", _settings(drive, folder="1DrvNotShared000AbCd"), 3600)
    failed = run_source(runtime.ingestor, store, mistyped)
    assert failed.status == "failed" and "share it with the service account" in failed.error
    source = store.add("hr-drive", "gdrive", _settings(drive, folder=hr.id), 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok" and len(_active(runtime)) == 4
    drive.trash(hr)  # reported alone: what is in it is trashed with it
    result = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert result.status == "ok", result.error
    assert _active(runtime) == {} and result.changes["removed"] == 4


def test_a_download_that_fails_keeps_the_page_token_so_the_next_run_applies_the_same_changes(runtime, store, drive):
    hr, folders, files = _folder(drive)
    source = store.add("hr-drive", "gdrive", _settings(drive, folder=hr.id), 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    drive.put(hr.id, "Travel.md", TRAVEL.replace("standard", "second"))
    drive.put(hr.id, "Remote work.md", REMOTE.replace("three", "two"))
    drive.trash(folders["benefits"])
    drive.broken = {files["remote"].id}
    failed = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert failed.status == "failed" and "could not be fetched" in failed.error
    active = _active(runtime)
    assert active["hr-drive/Travel.md"] == 2 and active["hr-drive/Remote work.md"] == 1  # kept as it was
    assert "hr-drive/Benefits/Dental plan.md" not in active
    drive.broken = set()
    drive.calls.clear()
    again = run_source(runtime.ingestor, store, store.get("hr-drive"))
    assert again.status == "ok", again.error
    assert _active(runtime)["hr-drive/Remote work.md"] == 2
    assert _reads(drive) == [files["remote"].id]  # the same changes again; only what had failed is read


# --- push notifications through the real HTTP server -------------------------------------------------------

def _queued(runtime) -> list[tuple]:
    with runtime.db.connection() as conn:
        return conn.execute("SELECT task_name, args->>'name', queueing_lock FROM procrastinate_jobs "
                            "WHERE queue_name = %s", [schedule.SOURCES_QUEUE]).fetchall()


def _wait(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_drive_notifications_queue_one_run_for_this_channel_and_token_and_none_otherwise(runtime, store, drive, bot):
    hr, folders, files = _folder(drive)
    settings = _settings(drive, folder=hr.id, notification_secret="env:GDRIVE_NOTIFY", public_url=bot.url)
    source = store.add("hr-drive", "gdrive", settings, 3600)
    first = run_source(runtime.ingestor, store, source)
    assert first.status == "ok", first.error
    assert first.changes["notifications"].startswith("on until")
    [channel] = drive.channels.values()
    assert channel["address"] == f"{bot.url}/webhooks/hr-drive" and channel["token"] == SECRET
    _wait(lambda: drive.notified)
    assert drive.notified == [("sync", 200)] and _queued(runtime) == []  # sync: nothing to do

    url = f"{bot.url}/webhooks/hr-drive"
    headers = {"X-Goog-Channel-ID": channel["id"], "X-Goog-Resource-State": "change"}
    assert post(url, b"", {**headers, "X-Goog-Channel-Token": "guessed"}) == 403
    assert post(url, b"", {**headers, "X-Goog-Channel-ID": "someone-elses-channel",
                           "X-Goog-Channel-Token": SECRET}) == 403
    assert post(url, b"", headers) == 403  # no token at all
    assert _queued(runtime) == []

    drive.put(hr.id, "Travel.md", TRAVEL + "\nTaxis need a receipt.\n")  # Drive notifies the bot
    _wait(lambda: len(drive.notified) >= 2)
    assert drive.notified[1] == ("change", 200)
    assert _queued(runtime) == [(schedule.RUN_SOURCE, "hr-drive", "source:hr-drive")]
    drive.put(hr.id, "Travel.md", TRAVEL + "\nTaxis need two receipts.\n")  # a second one: still one run
    _wait(lambda: len(drive.notified) >= 3)
    assert drive.notified[2] == ("change", 200) and len(_queued(runtime)) == 1

    # Outside review: removing the source left Drive posting to a name that answers 404 until the channel expired.
    from knowledge.desks.sources import SourcesDesk

    SourcesDesk(runtime).remove("hr-drive", keep_documents=True, actor="admin")
    assert drive.channels == {}


def test_a_channel_is_replaced_before_it_ends_and_the_old_one_stopped(runtime, store, drive, bot):
    from datetime import datetime, timedelta, timezone

    from knowledge.sources.gdrive_api import DriveClient
    from knowledge.sources.gdrive_notify import keep_watching
    from knowledge.sources.state import SourceState

    hr, _, _ = _folder(drive)
    source = store.add("hr-drive", "gdrive", _settings(drive, folder=hr.id, notification_secret="env:GDRIVE_NOTIFY",
                                                       public_url=bot.url), 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    [old] = drive.channels
    expires = int(drive.channels[old]["expiration"]) / 1000 - time.time()
    assert 6 * 86400 < expires <= 7 * 86400  # under a changes channel's week
    state, client = SourceState(runtime.db, source.source_id), DriveClient(source.settings, 10**6)
    token = state.get("page_token")[0]
    assert keep_watching(client, source, state, token, None, None).startswith("on until")  # nothing to do yet
    assert list(drive.channels) == [old]
    later = datetime.now(timezone.utc) + timedelta(days=6)
    assert keep_watching(client, source, state, token, None, None, now=later).startswith("renewed")
    [new] = drive.channels
    assert new != old and new.startswith(f"hrbot-{source.source_id}-")
    stale = urllib.request.Request(f"{bot.url}/webhooks/hr-drive", data=b"", method="POST", headers={
        "X-Goog-Channel-ID": new, "X-Goog-Channel-Token": SECRET, "X-Goog-Resource-State": "sync"})
    with urllib.request.urlopen(stale, timeout=10) as response:
        assert response.status == 200
    assert _queued(runtime) == []


def test_a_service_account_key_pasted_as_json_is_refused_not_stored(store):
    """Outside review: `--set key='{"type": "service_account", "private_key": ...}'` was accepted and the key
    stored in sources.settings; a credential is a reference whatever its type, and no setting holds key material."""
    from knowledge.errors import ConfigurationError

    pasted = {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----abc"}
    with pytest.raises(ConfigurationError, match="looks like a credential"):
        store.add("drive", "gdrive", {"key": pasted, "folder": "abc"}, 3600)
    with pytest.raises(ConfigurationError, match="private key"):
        store.add("drive", "gdrive", {"key": "env:DRIVE_KEY", "folder": "abc", "extra": {"note": pasted}}, 3600)
    assert all(s.name != "drive" for s in store.list())
