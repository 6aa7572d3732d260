"""SharePoint and OneDrive through Microsoft Graph (issue 25), against a local Graph and token endpoint that answer
as Microsoft documents them: a first run pages through the delta query, later runs fetch only what changed
(edits, renames, moves, folder renames, deletions, moves out of the folder), an expired delta link forces a full
resync, throttling is waited out, revoked credentials fail the run kindly with nothing retired, site pages come
as HTML; and change notifications through the real HTTP server queue a run only when their clientState matches."""
import json
import time
import urllib.error
import urllib.request

import pytest

from bot.server import HttpServer
from bot.web import WebApp
from knowledge.operations import schedule
from knowledge.sources.runner import run_source
from tests.fakes.graph_api import FakeGraph
from tests.test_sources import _active

LEAVE = "# Annual leave\n\nEvery employee receives 30 days of paid annual leave per calendar year.\n"
DENTAL = "# Dental plan\n\nThe dental plan covers implants up to 2,000 euros a year.\n"
TRAVEL = "# Travel\n\nBook trains in standard class; flights need your manager's approval first.\n"
REMOTE = "# Remote work\n\nYou may work from home up to three days a week.\n"


@pytest.fixture
def graph(monkeypatch):
    fake = FakeGraph(page_size=2)
    monkeypatch.setenv("GRAPH_SECRET", fake.secret)
    monkeypatch.setenv("GRAPH_NOTIFY", "notify-secret-7f3a")
    yield fake
    fake.close()


def _app(fake: FakeGraph, **extra) -> dict:
    return {"tenant": fake.tenant, "client_id": fake.client_id, "client_secret": "env:GRAPH_SECRET",
            "authority": fake.authority, "graph_url": fake.graph_url, **extra}


def _library(fake: FakeGraph):
    site = fake.add_site()
    drive = site.drives["Documents"]
    files = {"leave": fake.put(drive, "HR/Policies/Annual leave.md", LEAVE),
             "dental": fake.put(drive, "HR/Benefits/Dental plan.md", DENTAL),
             "travel": fake.put(drive, "HR/Travel.md", TRAVEL),
             "remote": fake.put(drive, "HR/Remote work.md", REMOTE),
             "other": fake.put(drive, "Finance/Budget.md", "# Budget\n\nThe travel budget is 5,000 euros.\n"),
             "sheet": fake.put(drive, "HR/Headcount.xlsx", b"PK\x03\x04 not read")}
    return site, drive, files


def _deltas(fake: FakeGraph) -> list:
    return [c for c in fake.calls if c.path.endswith("/root/delta")]


def _downloads(fake: FakeGraph) -> list[str]:
    return [c.path.rsplit("/", 1)[1] for c in fake.calls if c.path.startswith("/download/")]


def test_a_library_folder_is_listed_through_delta_pages_then_only_changes_are_fetched(runtime, store, graph):
    site, drive, files = _library(graph)
    source = store.add("hr-site", "sharepoint", _app(graph, site="https://contoso.sharepoint.com/sites/HR",
                                                     folder="HR", pages=False), 3600)
    first = run_source(runtime.ingestor, store, source)
    assert first.status == "ok", first.error
    assert set(_active(runtime)) == {"hr-site/Policies/Annual leave.md", "hr-site/Benefits/Dental plan.md",
                                     "hr-site/Travel.md", "hr-site/Remote work.md"}  # not Finance, not .xlsx
    assert len(_deltas(graph)) > 3 and "@odata" not in str(first.changes)  # nextLink followed (2 items a page)
    hit = runtime.searcher.search("does the dental plan cover implants", 1)[0]
    assert hit.source == "hr-site/Benefits/Dental plan.md" and hit.url.startswith("https://contoso.sharepoint.com/")

    graph.calls.clear()
    again = run_source(runtime.ingestor, store, store.get("hr-site"))
    assert again.status == "ok" and again.changes["unchanged"] == 4
    assert [c.path for c in graph.calls] == [f"/v1.0/drives/{drive}/root/delta"]  # one call, the token kept

    graph.put(drive, "HR/Policies/Annual leave.md", LEAVE.replace("30 days", "32 days"))
    graph.rename(files["dental"], "Dental insurance.md")
    graph.move(files["travel"], "HR/Benefits")
    graph.move(files["remote"], "Finance")              # out of the folder: retired
    graph.rename(graph.folder(drive, "HR/Policies"), "Rules")  # reported alone; what is in it follows
    graph.delete(files["other"])                        # outside the folder: nothing to do
    graph.calls.clear()
    third = run_source(runtime.ingestor, store, store.get("hr-site"))
    assert third.status == "ok", third.error
    assert set(_active(runtime)) == {"hr-site/Rules/Annual leave.md", "hr-site/Benefits/Dental insurance.md",
                                     "hr-site/Benefits/Travel.md"}
    assert third.changes["removed"] == 1 and third.retired == ["hr-site/Remote work.md"]
    assert sorted(_downloads(graph)) == sorted([files["leave"].id, files["dental"].id, files["travel"].id])
    leave = runtime.searcher.search("how many days of annual leave", 1)[0]
    assert leave.source == "hr-site/Rules/Annual leave.md" and "32 days" in leave.text
    assert "hr-site/Remote work.md" not in [h.source for h in runtime.searcher.search("work from home", 5)]


def test_an_expired_delta_link_forces_a_full_resync_that_retires_what_is_gone(runtime, store, graph):
    site, drive, files = _library(graph)
    source = store.add("hr-site", "sharepoint", _app(graph, site=site.id, folder="HR", pages=False), 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    graph.delete(files["dental"])
    graph.expire_before = graph.seq + 1  # the kept link is now too old: 410 resyncRequired
    graph.calls.clear()
    result = run_source(runtime.ingestor, store, store.get("hr-site"))
    assert result.status == "ok", result.error
    assert "hr-site/Benefits/Dental plan.md" not in _active(runtime) and len(_active(runtime)) == 3
    assert result.changes["removed"] == 1 and _downloads(graph) == []  # unchanged files are not read again
    assert [c.query.get("token") for c in _deltas(graph)][:2] == [str(graph.seq - 1), None]


def test_throttling_is_waited_out_and_revoked_credentials_fail_kindly_with_nothing_retired(runtime, store, graph):
    site, drive, files = _library(graph)
    source = store.add("hr-site", "sharepoint", _app(graph, site=site.id, pages=False), 3600)
    graph.throttle = 2
    started = time.monotonic()
    assert run_source(runtime.ingestor, store, source).status == "ok"
    assert time.monotonic() - started >= 2.0  # Retry-After: 1, twice
    before = _active(runtime)
    graph.revoke()
    graph.delete(files["leave"])
    failed = run_source(runtime.ingestor, store, store.get("hr-site"))
    assert failed.status == "failed"
    assert "refused the app's credentials" in failed.error and "Certificates & secrets" in failed.error
    assert graph.secret not in failed.error and "deleted" not in failed.error.split("(")[0]
    assert _active(runtime) == before  # nothing retired


def test_sharepoint_pages_come_as_html_and_a_onedrive_folder_is_a_source_too(runtime, store, graph):
    site = graph.add_site()
    page = graph.add_page(site, "Parental leave", "<p>Parents receive 16 weeks of paid parental leave.</p>")
    store.add("intranet", "sharepoint", _app(graph, site="https://contoso.sharepoint.com/sites/HR"), 3600)
    drive = graph.add_user("hr.lead@contoso.example")
    graph.put(drive, "Shared/Handbook/Expenses.md", "# Expenses\n\nReceipts are due within 30 days.\n")
    store.add("lead-drive", "onedrive", _app(graph, user="hr.lead@contoso.example", folder="Shared/Handbook"), 3600)
    assert [run_source(runtime.ingestor, store, s).status for s in store.list()] == ["ok", "ok"]
    assert set(_active(runtime)) == {"intranet/Pages/Parental leave.html", "lead-drive/Expenses.md"}
    hit = runtime.searcher.search("how many weeks of parental leave", 1)[0]
    assert hit.source == "intranet/Pages/Parental leave.html" and "16 weeks" in hit.text
    del site.pages[page.id]
    assert run_source(runtime.ingestor, store, store.get("intranet")).changes["removed"] == 1
    assert "intranet/Pages/Parental leave.html" not in _active(runtime)


# --- change notifications through the real HTTP server -------------------------------------------------------

def _queued(runtime) -> list[tuple]:
    with runtime.db.connection() as conn:
        return conn.execute("SELECT task_name, args->>'name', queueing_lock FROM procrastinate_jobs "
                            "WHERE queue_name = %s", [schedule.SOURCES_QUEUE]).fetchall()


def _post(url: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_graph_notifications_queue_one_run_when_their_client_state_matches_and_none_otherwise(
        runtime, store, graph, bot):
    site, drive, files = _library(graph)
    settings = _app(graph, site=site.id, folder="HR", pages=False, notification_secret="env:GRAPH_NOTIFY",
                    public_url=bot.url)
    source = store.add("hr-site", "sharepoint", settings, 3600)
    first = run_source(runtime.ingestor, store, source)
    assert first.status == "ok", first.error
    assert first.changes["notifications"].startswith("on until")  # the handshake went through the real server
    [subscription] = graph.subscriptions.values()
    assert subscription["notificationUrl"] == f"{bot.url}/webhooks/hr-site"
    assert subscription["resource"] == f"/drives/{drive}/root"

    forged = {"value": [{"subscriptionId": subscription["id"], "clientState": "guessed", "changeType": "updated"}]}
    assert _post(f"{bot.url}/webhooks/hr-site", forged) == 403
    assert _post(f"{bot.url}/webhooks/no-such-source", forged) == 404
    assert _queued(runtime) == []

    graph.put(drive, "HR/Travel.md", TRAVEL + "\nTaxis need a receipt.\n")  # Graph notifies the bot
    deadline = time.monotonic() + 10
    while not graph.notified and time.monotonic() < deadline:
        time.sleep(0.05)
    assert graph.notified == [202]
    assert _queued(runtime) == [(schedule.RUN_SOURCE, "hr-site", "source:hr-site")]
    graph.put(drive, "HR/Travel.md", TRAVEL + "\nTaxis need two receipts.\n")  # a second one: still one run
    while len(graph.notified) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert graph.notified == [202, 202] and len(_queued(runtime)) == 1

    # Outside review: removing the source left its subscription notifying a name that answers 404 for 29 days.
    from knowledge.desks.sources import SourcesDesk

    SourcesDesk(runtime).remove("hr-site", keep_documents=True, actor="admin")
    assert graph.subscriptions == {}


def test_a_notification_signed_right_but_for_another_subscription_or_tenant_is_acknowledged_and_queues_nothing(
        runtime, store, graph, bot):
    """Graph's guidance: check clientState and also that subscriptionId is one this app holds and tenantId is its
    tenant. A subscription the source no longer holds (moved to a new address, its delete failed) or a
    notification naming another directory is answered 202 (so Graph stops sending it) and queues no run."""
    site, drive, _ = _library(graph)
    settings = _app(graph, site=site.id, folder="HR", pages=False, notification_secret="env:GRAPH_NOTIFY",
                    public_url=bot.url)
    source = store.add("hr-site", "sharepoint", settings, 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    [subscription] = graph.subscriptions.values()
    secret = subscription["clientState"]

    def note(**changed) -> dict:
        return {"value": [{"subscriptionId": subscription["id"], "clientState": secret, "changeType": "updated",
                           "tenantId": graph.tenant, **changed}]}

    assert _post(f"{bot.url}/webhooks/hr-site", note(subscriptionId="an-old-subscription")) == 202
    assert _post(f"{bot.url}/webhooks/hr-site", note(tenantId="another-tenant")) == 202
    assert _post(f"{bot.url}/webhooks/hr-site", note(subscriptionId=None)) == 202
    assert _queued(runtime) == []
    both = note()
    both["value"].append(note(subscriptionId="an-old-subscription")["value"][0])
    assert _post(f"{bot.url}/webhooks/hr-site", both) == 202  # the one that is ours counts
    assert _queued(runtime) == [(schedule.RUN_SOURCE, "hr-site", "source:hr-site")]


def test_a_body_nested_too_deep_to_read_is_a_400_not_a_500(runtime, store, graph, bot):
    """Outside review: 100,000 '[' then as many ']' (200 KB, inside the size limit, no secret needed) ended
    json.loads with RecursionError: a 500 and a traceback in the log each time."""
    site, _, _ = _library(graph)
    store.add("hr-site", "sharepoint", _app(graph, site=site.id, pages=False, notification_secret="env:GRAPH_NOTIFY",
                                            public_url=bot.url), 3600)
    request = urllib.request.Request(f"{bot.url}/webhooks/hr-site", data=b"[" * 100_000 + b"]" * 100_000,
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        status = urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 400 and _queued(runtime) == []


def test_a_subscription_is_renewed_before_it_ends_and_its_validation_is_echoed_as_text(runtime, store, graph, bot):
    from datetime import datetime, timedelta, timezone

    from knowledge.sources.graph_api import GraphClient
    from knowledge.sources.graph_notify import keep_subscribed
    from knowledge.sources.state import SourceState

    site, drive, _ = _library(graph)
    source = store.add("hr-site", "sharepoint", _app(graph, site=site.id, pages=False,
                                                     notification_secret="env:GRAPH_NOTIFY", public_url=bot.url), 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    [subscription] = graph.subscriptions.values()
    asked = datetime.strptime(subscription["expirationDateTime"][:19], "%Y-%m-%dT%H:%M:%S")
    assert timedelta(days=29) < asked - datetime.utcnow() <= timedelta(minutes=42300)  # under driveItem's max
    state, client = SourceState(runtime.db, source.source_id), GraphClient(source.settings, 10**6)
    assert keep_subscribed(client, source, state, drive, None).startswith("on until")  # nothing to do yet
    later = datetime.now(timezone.utc) + timedelta(days=20)
    assert keep_subscribed(client, source, state, drive, None, now=later).startswith("renewed")
    assert list(graph.subscriptions) == [subscription["id"]]
    request = urllib.request.Request(f"{bot.url}/webhooks/hr-site?validationToken=%3Cb%3Ehi%3C%2Fb%3E",
                                     data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == b"<b>hi</b>" and response.headers["Content-Type"].startswith("text/plain")


def test_a_download_that_fails_keeps_the_delta_link_so_the_next_run_applies_the_same_changes(runtime, store, graph):
    site, drive, files = _library(graph)
    source = store.add("hr-site", "sharepoint", _app(graph, site=site.id, folder="HR", pages=False), 3600)
    assert run_source(runtime.ingestor, store, source).status == "ok"
    graph.put(drive, "HR/Travel.md", TRAVEL.replace("standard", "second"))
    graph.put(drive, "HR/Remote work.md", REMOTE.replace("three", "two"))
    graph.delete(graph.folder(drive, "HR/Benefits"))  # what is in it goes with it, unreported
    graph.broken = {files["remote"].id}
    failed = run_source(runtime.ingestor, store, store.get("hr-site"))
    assert failed.status == "failed" and "could not be fetched" in failed.error
    active = _active(runtime)
    assert active["hr-site/Travel.md"] == 2 and active["hr-site/Remote work.md"] == 1  # kept as it was
    assert "hr-site/Benefits/Dental plan.md" not in active
    graph.broken = set()
    graph.calls.clear()
    again = run_source(runtime.ingestor, store, store.get("hr-site"))
    assert again.status == "ok", again.error
    assert _active(runtime)["hr-site/Remote work.md"] == 2 and _active(runtime)["hr-site/Travel.md"] == 2
    assert _downloads(graph) == [files["remote"].id]  # the same changes again; only what had failed is read
