"""Background jobs in PostgreSQL (procrastinate): slow work, such as ingesting a 100-page PDF, never runs in
the code that acks a Slack request. Tasks come in blueprints from whoever defines them (bot/jobs.py); the
objects they need reach them through the worker's context."""
from __future__ import annotations

import logging
import threading

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


def start_worker_thread(app: procrastinate.App, queues: list[str] | None = None,
                        context: dict | None = None) -> threading.Thread:
    """A worker in the background of this process (what `hrbot serve` does unless told not to)."""

    def work() -> None:
        try:
            app.run_worker(queues=queues or [INGEST_QUEUE], wait=True, install_signal_handlers=False,
                           delete_jobs="successful", additional_context=context)
        except Exception:
            log.exception("the job worker stopped")

    thread = threading.Thread(target=work, name="hrbot-jobs", daemon=True)
    thread.start()
    return thread
