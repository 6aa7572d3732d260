"""How fast an edit in SharePoint reaches answers, and what a scheduled run of an unchanged library costs (issue 25).

1. With notifications: a SharePoint library on the local Graph (tests/fakes/graph_api.py) whose subscription points
   at a real HTTP server with the bot's web routes (bot/web.py, waitress) and a procrastinate worker taking the
   sources queue, as `hrbot serve` runs them. A one-page policy is edited on the fake; the fake POSTs Graph's
   notification to /webhooks/<name>; the verified notification queues a run; the worker's run fetches the delta,
   downloads the file and ingests it. Measured: from the edit to the first search whose top passages quote the new
   text (polled every 50 ms), `--edits` times.
2. Without notifications: a library of `--files` files (one paragraph each, 50 folders), first run (all listed
   through delta pages of 200 and ingested), then an unchanged scheduled run: Graph calls, bytes received, seconds;
   in a worker that holds its token (one call) and in a fresh process (token + delta).

    python benchmarks/graph_updates.py [--files 10000] [--edits 5]
    python benchmarks/graph_updates.py --files 10000 --in-folder 500 --edits 0 --name graph_updates_10k
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, write_result  # noqa: E402


def _settings(fake, **extra) -> dict:
    return {"tenant": fake.tenant, "client_id": fake.client_id, "client_secret": "env:BENCH_GRAPH_SECRET",
            "authority": fake.authority, "graph_url": fake.graph_url, "pages": False, **extra}


def with_notifications(rt, edits: int) -> dict:
    """Edit -> notification -> queued run -> ingested -> found, `edits` times."""
    import os

    from slack_bolt import App

    from bot.server import HttpServer
    from bot.web import WebApp
    from bot.webhooks import Webhooks, source_webhooks
    from knowledge.desks.operations import OperationsDesk
    from knowledge.desks.privacy import PrivacyDesk
    from knowledge.desks.sources import SourcesDesk
    from knowledge.operations import schedule
    from knowledge.operations.jobs import build_job_app, start_worker_thread
    from knowledge.sources.runner import run_source
    from knowledge.sources.store import SourceStore
    from tests.fakes.graph_api import FakeGraph

    fake = FakeGraph(page_size=200)
    os.environ["BENCH_GRAPH_SECRET"], os.environ["BENCH_GRAPH_NOTIFY"] = fake.secret, "bench-notify-secret"
    site = fake.add_site()
    drive = site.drives["Documents"]
    fake.put(drive, "HR/Travel.md", "# Travel\n\nBook trains in standard class.\n")
    fake.put(drive, "HR/Remote.md", "# Remote work\n\nYou may work from home up to three days a week.\n")
    policy = "# Bereavement leave\n\nAfter the death of a close relative you receive {n} days of paid leave.\n"
    fake.put(drive, "HR/Bereavement.md", policy.format(n=3))
    deferrer, worker_app = build_job_app(rt.db), build_job_app(rt.db, for_worker=True)
    worker_app.add_tasks_from(schedule.blueprint(periodic=False), namespace=schedule.NAMESPACE)
    sources = SourcesDesk(rt)
    context = {schedule.SOURCES: sources, schedule.PRIVACY: PrivacyDesk(rt), schedule.OPERATIONS: OperationsDesk(rt),
               schedule.DEFERRER: deferrer}
    slack = App(token="xoxb-bench", signing_secret="bench", token_verification_enabled=False)
    webhooks = Webhooks(resolver=source_webhooks(sources, lambda name, why: schedule.defer_source(deferrer, name)))
    server = HttpServer(WebApp(slack, lambda: True, webhooks=webhooks), "127.0.0.1", 0).start()
    thread, status = start_worker_thread(worker_app, queues=[schedule.SOURCES_QUEUE], context=context,
                                         concurrency=schedule.SOURCE_CONCURRENCY)
    store = SourceStore(rt.db)
    source = store.add("hr-site", "sharepoint", _settings(fake, site=site.id, folder="HR",
                                                          notification_secret="env:BENCH_GRAPH_NOTIFY",
                                                          public_url=f"http://127.0.0.1:{server.port}"), 21600)
    first = run_source(rt.ingestor, store, source)
    assert first.status == "ok" and first.changes["notifications"].startswith("on"), first
    seconds = []
    try:
        for n in range(10, 10 + edits):
            started = time.perf_counter()
            fake.put(drive, "HR/Bereavement.md", policy.format(n=n))
            while not any(f"{n} days" in hit.text for hit in rt.searcher.search(
                    "how many days of bereavement leave after a death", 3)):
                if time.perf_counter() - started > 120:
                    raise RuntimeError("the edit never reached the answers")
                time.sleep(0.05)
            seconds.append(time.perf_counter() - started)
            print(f"edit {n}: found after {seconds[-1]:.2f} s")
            time.sleep(1.0)  # let the run finish its bookkeeping before the next edit
    finally:
        status.stopping.set()
        server.close()
        fake.close()
    return {"edits": len(seconds), "seconds": [round(s, 2) for s in seconds],
            "median_s": round(statistics.median(seconds), 2), "max_s": round(max(seconds), 2),
            "notifications_answered": fake.notified}


def unchanged_library(rt, files: int, in_folder: int | None = None) -> dict:
    """in_folder: only that many of the files are in the source's folder (the rest elsewhere in the same drive,
    listed by the root delta but not ingested): the drive's size without ingesting all of it."""
    import os

    from knowledge.sources import graph_api
    from knowledge.sources.graph import run_graph
    from knowledge.sources.graph_api import GraphClient
    from knowledge.sources.runner import RunResult, run_source
    from knowledge.sources.store import SourceStore
    from tests.fakes.graph_api import FakeGraph

    fake = FakeGraph(page_size=200)
    fake.keep_calls = False
    os.environ["BENCH_GRAPH_SECRET"] = fake.secret
    site = fake.add_site(path="/sites/Library")
    drive = site.drives["Documents"]
    for i in range(files):
        top = "Policies" if in_folder is None or i < in_folder else "Archive"
        fake.put(drive, f"{top}/Area {i % 50:02d}/Policy {i:05d}.md",
                 f"# Policy {i}\n\nPolicy number {i} applies to team {i % 97} from day {i % 31 + 1}.\n")
    store = SourceStore(rt.db)
    source = store.add("library", "sharepoint", _settings(fake, site=site.id, folder="Policies"), 21600)
    started = time.perf_counter()
    first = run_source(rt.ingestor, store, source)
    out = {"files_in_drive": files, "files_in_folder": files if in_folder is None else in_folder, "first_run": {"seconds": round(time.perf_counter() - started, 1), "status": first.status,
                                         "changes": first.changes, "graph_calls": fake.call_count}}
    print("first run", out["first_run"])
    for name, cold in (("unchanged_warm_worker", False), ("unchanged_fresh_process", True)):
        if cold:
            graph_api._tokens.clear()
        client = GraphClient(store.get("library").settings, rt.ingestor.max_bytes)
        result = RunResult("library")
        before = fake.call_count
        started = time.perf_counter()
        run_graph(rt.ingestor, store.get("library"), result, client=client)
        out[name] = {"seconds": round(time.perf_counter() - started, 3), "graph_calls": client.calls,
                     "fake_saw_calls": fake.call_count - before, "bytes_received": client.bytes,
                     "unchanged": result.changes["unchanged"]}
        print(name, out[name])
    fake.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--in-folder", type=int, default=None,
                        help="only this many of --files in the source's folder (the rest elsewhere in the drive)")
    parser.add_argument("--name", default="graph_updates", help="the result file's name")
    args = parser.parse_args()
    from knowledge.database.connection import Database
    from knowledge.runtime import Runtime
    from knowledge.settings import Settings

    url, pg = benchmark_database("graph")
    db = Database(url)
    results = {}
    try:
        rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=db)
        rt.embeddings.embed_array(["warm up"] * 64)  # models loaded outside the timings
        if rt.multilingual is not None:
            rt.multilingual.warm()
        if args.edits:
            results["with_notifications"] = with_notifications(rt, args.edits)
        results["without_notifications"] = unchanged_library(rt, args.files, args.in_folder)
    finally:
        db.close()
        stop_database(pg)
    print(f"written to {write_result(args.name, results)}")


if __name__ == "__main__":
    main()
