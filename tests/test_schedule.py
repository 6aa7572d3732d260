"""Scheduled work as procrastinate periodic tasks and jobs (issue 22): each source a job of its own, run in
parallel, a slow source delaying no other; periodic tasks registered once per tick across replicas."""
import threading
import time

import procrastinate
import procrastinate.testing
import pytest

from knowledge.desks.operations import OperationsDesk
from knowledge.desks.privacy import PrivacyDesk
from knowledge.desks.sources import SourcesDesk
from knowledge.operations import schedule
from knowledge.operations.jobs import build_job_app
from tests.test_sources import FakeSite, site  # noqa: F401 (a fixture)


class SlowSite(FakeSite):
    """A web site whose every answer takes `delay` seconds (a BambooHR dripping bytes, a slow intranet)."""

    def __init__(self, delay: float):
        self.delay = delay
        super().__init__()

    def answer(self, call):
        time.sleep(self.delay)
        return super().answer(call)


@pytest.fixture
def slow_site():
    s = SlowSite(2.0)
    yield s
    s.close()


def _apps(runtime, alerts=None):
    deferrer = build_job_app(runtime.db)
    worker = build_job_app(runtime.db, for_worker=True)
    worker.add_tasks_from(schedule.blueprint(periodic=False), namespace=schedule.NAMESPACE)
    context = {schedule.SOURCES: SourcesDesk(runtime), schedule.PRIVACY: PrivacyDesk(runtime),
               schedule.OPERATIONS: OperationsDesk(runtime), schedule.DEFERRER: deferrer}
    return deferrer, worker, context


def _jobs(runtime, queue: str) -> list[tuple]:
    with runtime.db.connection() as conn:
        return conn.execute("SELECT task_name, lock, queueing_lock, status FROM procrastinate_jobs "
                            "WHERE queue_name = %s ORDER BY id", [queue]).fetchall()


def test_due_sources_become_one_job_each_and_are_not_queued_twice(runtime, store, site, tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 30 days of annual leave.\n")
    store.add("web", "web", {"sitemap": site.base + "/sitemap.xml"}, 3600)
    store.add("share", "folder", {"path": str(folder)}, 3600)
    deferrer, _, _ = _apps(runtime)
    try:
        assert {s.name for s in store.due()} == {"share", "web"}
        assert schedule.defer_source(deferrer, "web") and schedule.defer_source(deferrer, "share")
        assert not schedule.defer_source(deferrer, "web")  # one waiting run per source (its queueing lock)
        jobs = _jobs(runtime, schedule.SOURCES_QUEUE)
        assert sorted(j[1] for j in jobs) == ["source:share", "source:web"]  # one running per source (its lock)
        assert {j[0] for j in jobs} == {schedule.RUN_SOURCE}
    finally:
        deferrer.close()


def test_a_slow_source_delays_no_other(runtime, store, slow_site, tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 30 days of annual leave.\n")
    store.add("slow", "web", {"sitemap": slow_site.base + "/sitemap.xml"}, 3600)
    store.add("fast", "folder", {"path": str(folder)}, 3600)
    deferrer, worker, context = _apps(runtime)
    finished = {}
    sources = context[schedule.SOURCES]
    real = sources.run

    def timed(names, **kwargs):
        results = real(names, **kwargs)
        finished[names[0]] = time.monotonic()
        return results

    sources.run = timed
    try:
        schedule.defer_source(deferrer, "slow")  # queued first: a one-at-a-time loop would run it first
        schedule.defer_source(deferrer, "fast")
        thread = threading.Thread(target=worker.run_worker, kwargs=dict(
            queues=[schedule.SOURCES_QUEUE], wait=False, install_signal_handlers=False, delete_jobs="successful",
            additional_context=context, concurrency=schedule.SOURCE_CONCURRENCY))
        thread.start()
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert set(finished) == {"slow", "fast"}
        assert finished["fast"] < finished["slow"]  # the fast source did not wait for the slow one
        assert store.get("fast").last_success_at is not None and store.get("slow").last_success_at is not None
    finally:
        deferrer.close()


def test_the_schedule_is_periodic_tasks_not_threads():
    from bot.jobs import REDELIVERY_CRON, blueprint

    app = procrastinate.App(connector=procrastinate.testing.InMemoryConnector())
    app.add_tasks_from(blueprint(), namespace="hrbot")
    app.add_tasks_from(schedule.blueprint(), namespace="hrbot")
    crons = {p.task.name: p.cron for p in app.periodic_registry.periodic_tasks.values()}
    assert crons == {"hrbot:schedule_sources": "* * * * *", "hrbot:retention": "17 3 * * *",
                     "hrbot:complete_vectors": "41 * * * *", "hrbot:stalled_jobs": "* * * * *",
                     "hrbot:redeliver": REDELIVERY_CRON, "hrbot:send_reminders": schedule.REMINDERS_CRON}
    for name in crons:  # each has a queueing lock: at most one waits, however many replicas defer it
        assert app.tasks[name].queueing_lock
    quiet = procrastinate.App(connector=procrastinate.testing.InMemoryConnector())
    quiet.add_tasks_from(schedule.blueprint(periodic=False), namespace="hrbot")
    assert not quiet.periodic_registry.periodic_tasks and "hrbot:run_source" in quiet.tasks


def test_a_runtime_only_replica_takes_only_the_slack_queue(sample_runtime, fake):
    from tests.slack_helpers import SlackHarness

    harness = SlackHarness(sample_runtime, fake)
    try:
        jobs = harness.bot.jobs
        assert jobs.queues(owner=False, slack=True) == ["slack"]
        assert set(jobs.queues(owner=True, slack=True)) == {"ingest", "maintenance", "sources", "slack"}
    finally:
        harness.close()
