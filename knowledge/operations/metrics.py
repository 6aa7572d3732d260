"""Prometheus metrics: what happened in this process (counters, histograms) and the state of the shared
database, read when scraped (queue depth, events not yet answered, freshness of the knowledge and records).

Labels are kinds and surfaces, never a person, a question or a figure."""
from __future__ import annotations

import logging
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ANSWERS = Counter("hrbot_answers", "Answers given, by kind (answer, not_found, refused, error) and surface",
                  ["kind", "surface"], registry=REGISTRY)
UNSUPPORTED = Counter("hrbot_unsupported_answers", "Answers without a supporting passage (the knowledge gaps)",
                      ["surface"], registry=REGISTRY)
ANSWER_SECONDS = Histogram("hrbot_answer_seconds", "Time to answer one question, retrieval and writing",
                           ["surface"], registry=REGISTRY,
                           buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
SLACK_REQUEST_SECONDS = Histogram("hrbot_slack_request_seconds", "Time to acknowledge a request from Slack",
                                  ["status"], registry=REGISTRY,
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0))
CONTENT_TYPE = CONTENT_TYPE_LATEST

STATE = """
SELECT (SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'),
       (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'),
       (SELECT count(*) FROM processed_events WHERE state = 'answering'),
       (SELECT count(*) FROM processed_events WHERE state = 'abandoned'),
       (SELECT count(*) FROM documents WHERE status = 'active'),
       (SELECT extract(epoch FROM now() - max(created_at)) FROM documents WHERE status = 'active'),
       (SELECT extract(epoch FROM now() - max(at)) FROM audit_log WHERE action = 'records_import')"""


def observe_answer(surface: str, kind: str, supported: bool, seconds: float) -> None:
    ANSWERS.labels(kind=kind, surface=surface).inc()
    ANSWER_SECONDS.labels(surface=surface).observe(seconds)
    if kind == "answer" and not supported:
        UNSUPPORTED.labels(surface=surface).inc()


class DatabaseState:
    """Gauges read from the database at scrape time (shared by every replica, so any one tells the truth)."""

    def __init__(self, db, extra=None):
        self.db = db
        self.extra = extra  # () -> {name: (help, value)}: this process's own gauges (worker, supervisor)

    def collect(self):
        up = GaugeMetricFamily("hrbot_database_up", "1 when the database answered this scrape")
        try:
            with self.db.connection(timeout=1.0) as conn:
                row = conn.execute(STATE).fetchone()
        except Exception as exc:
            log.warning("metrics: database state unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            yield from self._extra()
            return
        up.add_metric([], 1)
        yield up
        todo, doing, answering, abandoned, documents, doc_age, records_age = row
        queue = GaugeMetricFamily("hrbot_job_queue", "Background jobs (ingesting shared files) by status",
                                  labels=["status"])
        queue.add_metric(["todo"], todo)
        queue.add_metric(["doing"], doing)
        yield queue
        events = GaugeMetricFamily("hrbot_events", "Slack events by state: being answered, or given up",
                                   labels=["state"])
        events.add_metric(["answering"], answering)
        events.add_metric(["abandoned"], abandoned)
        yield events
        yield GaugeMetricFamily("hrbot_documents", "Active documents in the knowledge base", value=documents)
        yield GaugeMetricFamily("hrbot_documents_age_seconds", "Seconds since the newest document changed",
                                value=float(doc_age) if doc_age is not None else float("nan"))
        yield GaugeMetricFamily("hrbot_records_age_seconds", "Seconds since employee records were last imported",
                                value=float(records_age) if records_age is not None else float("nan"))
        yield from self._extra()

    def _extra(self):
        for name, (help_text, value) in (self.extra() if self.extra else {}).items():
            yield GaugeMetricFamily(name, help_text, value=value)


def register_state(db, extra=None) -> None:
    """Add the database gauges to the registry once per process (a second call replaces nothing)."""
    global _state
    if _state is None:
        _state = DatabaseState(db, extra)
        REGISTRY.register(_state)


_state = None


def exposition() -> bytes:
    started = time.perf_counter()
    body = generate_latest(REGISTRY)
    log.debug("metrics rendered in %.1f ms", (time.perf_counter() - started) * 1000)
    return body
