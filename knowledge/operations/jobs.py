"""Background jobs in PostgreSQL (procrastinate): slow work, such as ingesting a 100-page PDF, never runs in
the code that acks a Slack request. Tasks come in blueprints from whoever defines them (bot/jobs.py); the
objects they need reach them through the worker's context."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import procrastinate

from knowledge.database.connection import Database

log = logging.getLogger(__name__)
INGEST_QUEUE = "ingest"


def build_job_app(db: Database, *, for_worker: bool = False) -> procrastinate.App:
    """A job app. Two per process: one that defers jobs through the runtime's (sync) pool, and one that a
    worker runs (it opens and closes its own async connections, which would close the deferring side)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=db.url))
    if not for_worker:
        app.open(db.pool)
    return app


def run_pending(app: procrastinate.App, queues: list[str] | None = None, context: dict | None = None) -> None:
    """Run every job waiting now, then return (tests, scripts and `hrbot worker --once`)."""
    app.run_worker(queues=queues or [INGEST_QUEUE], wait=False, install_signal_handlers=False,
                   delete_jobs="successful", additional_context=context)


STALLED_JOBS = """
SELECT job.id FROM procrastinate_jobs job
LEFT JOIN procrastinate_workers w ON w.id = job.worker_id
WHERE job.status = 'doing'
  AND (job.worker_id IS NULL OR w.last_heartbeat < now() - make_interval(secs => %(seconds)s))
ORDER BY job.id FOR UPDATE OF job SKIP LOCKED"""
RETRY_JOB = "SELECT procrastinate_retry_job_v2(%(id)s, now(), NULL, NULL, NULL)"
STALLED_AFTER = 60.0  # seconds without a heartbeat from a job's worker (procrastinate beats every 10 s)


def retry_stalled(db: Database, seconds: float = STALLED_AFTER) -> list[int]:
    """Jobs whose worker died mid-job (killed, its machine gone): back to the queue, to be run again from the
    start (an ingestion is one transaction per document, so nothing of the first attempt is half-written).
    Any worker process runs this every minute."""
    with db.connection() as conn:
        ids = [row[0] for row in conn.execute(STALLED_JOBS, {"seconds": seconds}).fetchall()]
        for job_id in ids:
            conn.execute(RETRY_JOB, {"id": job_id})
    if ids:
        log.warning("retrying %d jobs whose worker stopped mid-job: %s", len(ids), ids)
    return ids


@dataclass
class WorkerStatus:
    """How the background worker is doing, for /healthz and the log."""
    running: bool = False
    restarts: int = 0
    last_error: str | None = None
    stopping: threading.Event = field(default_factory=threading.Event)


def start_worker_thread(app: procrastinate.App, queues: list[str] | None = None, context: dict | None = None,
                        status: WorkerStatus | None = None, backoff: float = 1.0,
                        most: float = 30.0, concurrency: int = 1) -> tuple[threading.Thread, WorkerStatus]:
    """A worker in the background of this process (what `hrbot serve` does unless told not to). When it stops
    on an error (a database outage, say) it is started again after a pause that grows to `most` seconds, so
    uploads are processed again once the database is back, without a restart of the bot."""
    status = status or WorkerStatus()

    def work() -> None:
        delay = backoff
        while not status.stopping.is_set():
            status.running = True
            try:
                app.run_worker(queues=queues or [INGEST_QUEUE], wait=True, install_signal_handlers=False,
                               delete_jobs="successful", additional_context=context, concurrency=concurrency)
                # procrastinate also *returns* when it stops itself: its LISTEN connection died with the database
                # ("Side task listener failed ... stopping worker"). Only our stop is on purpose.
                error = None if status.stopping.is_set() else "it stopped by itself (its database connection died)"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            status.running = False
            if error is None:
                return
            status.restarts += 1
            status.last_error = error
            log.error("the job worker stopped (%s); starting it again in %.0f s", status.last_error, delay)
            if status.stopping.wait(delay):
                return
            delay = min(delay * 2, most)

    thread = threading.Thread(target=work, name="hrbot-jobs", daemon=True)
    thread.start()
    return thread, status


def every(seconds: float, work, name: str) -> threading.Event:
    """Run work() now and then every `seconds` in a background thread (errors are logged, never fatal).
    Returns the event that stops it."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                work()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", name, seconds)
            if stop.wait(seconds):
                return

    threading.Thread(target=loop, name=name, daemon=True).start()
    return stop
