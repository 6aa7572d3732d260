"""Scheduled work as procrastinate periodic tasks and jobs, not hand-made threads.

Every worker defers the periodic tasks below; the job queue's `procrastinate_periodic_defers` table lets exactly
one job through per tick across every replica, and a queueing lock keeps at most one waiting. The jobs run on
the queues of the workers that can do them:

| queue | what | who takes it |
| --- | --- | --- |
| `maintenance` | which sources are due (every minute), retention (daily), missing vectors (hourly), jobs of a dead worker (every minute) | a worker with the owner's URL |
| `sources` | one source's run, a job each: sources run in parallel (the worker's concurrency), one slow source delays no other, and one source never runs twice at once (its job lock) | a worker with the owner's URL |
| `maintenance` | reminders (hourly: each person at the company's hour in their time zone; knowledge/operations/reminders.py) | a worker with the owner's URL and a Slack client |
| `slack` | answering events whose lease ran out (bot/jobs.py) | every bot process |

Nothing here knows Slack: a failing source's alert is a callable in the worker's context.
"""
from __future__ import annotations

import logging

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

log = logging.getLogger(__name__)

NAMESPACE = "hrbot"
SOURCES_QUEUE = "sources"
MAINTENANCE_QUEUE = "maintenance"
OWNER_QUEUES = [MAINTENANCE_QUEUE, SOURCES_QUEUE]
RUN_SOURCE = f"{NAMESPACE}:run_source"
# Keys of the worker's context (procrastinate's additional_context)
SOURCES = "sources"          # knowledge.desks.sources.SourcesDesk
PRIVACY = "privacy"          # knowledge.desks.privacy.PrivacyDesk (retention)
OPERATIONS = "operations"    # knowledge.desks.operations.OperationsDesk (vectors, stalled jobs, job seals)
DEFERRER = "deferrer"        # a procrastinate App opened on the runtime's sync pool, for deferring from a job
SOURCE_ALERT = "source_alert"  # (source, failures, error) -> None, or absent
REMINDERS = "reminders"      # knowledge.desks.reminders.RemindersDesk, or absent
REMINDER_SEND = "reminder_send"  # (Reminder) -> None, raising NotDelivered to be tried again; or absent
REMINDER_TIME_ZONE = "reminder_time_zone"  # (Slack user id) -> IANA time zone or None
REMINDER_LOCALE = "reminder_locale"  # (Slack user id) -> Slack locale ("de-DE") or None
REMINDERS_CRON = "5 * * * *"  # hourly: each person's local hour comes round once a day
SOURCE_CONCURRENCY = 4       # sources running at once in one worker (each mostly waits on the network)
RETENTION_RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=60)


def defer_source(deferrer: procrastinate.App, name: str) -> bool:
    """Queue one run of a source; False when one is queued already (its queueing lock)."""
    try:
        deferrer.configure_task(RUN_SOURCE, queue=SOURCES_QUEUE, lock=f"source:{name}",
                                queueing_lock=f"source:{name}").defer(name=name)
        return True
    except AlreadyEnqueued:
        return False


def blueprint(periodic: bool = True) -> procrastinate.Blueprint:
    """A new blueprint each time (adding one to an App renames its tasks). periodic=False: the same tasks, none
    deferred by the clock (a worker that runs what is waiting and stops: tests, `hrbot worker --once`)."""
    tasks = procrastinate.Blueprint()

    def every(cron: str, periodic_id: str):
        return tasks.periodic(cron=cron, periodic_id=periodic_id) if periodic else (lambda task: task)

    @every("* * * * *", "sources")
    @tasks.task(name="schedule_sources", queue=MAINTENANCE_QUEUE, queueing_lock="schedule_sources",
                pass_context=True)
    def schedule_sources(context: procrastinate.JobContext, timestamp: int) -> int:
        """Each source whose time has come becomes a job of its own."""
        sources, deferrer = context.additional_context[SOURCES], context.additional_context[DEFERRER]
        queued = [s.name for s in sources.due() if defer_source(deferrer, s.name)]
        if queued:
            log.info("sources due, queued: %s", ", ".join(queued))
        return len(queued)

    @tasks.task(name="run_source", queue=SOURCES_QUEUE, pass_context=True)
    def run_source(context: procrastinate.JobContext, name: str) -> str:
        """One run; its failures are the source's own (recorded, retried by the source's backoff, alerted), so
        the job itself only fails on a bug."""
        from knowledge.errors import NotFound

        sources = context.additional_context[SOURCES]
        try:
            [result] = sources.run([name], alert=context.additional_context.get(SOURCE_ALERT))
        except NotFound:
            return "removed"  # removed between the schedule and the run
        return result.status

    @every("17 3 * * *", "retention")
    @tasks.task(name="retention", queue=MAINTENANCE_QUEUE, queueing_lock="retention", retry=RETENTION_RETRY,
                pass_context=True)
    def retention(context: procrastinate.JobContext, timestamp: int) -> dict:
        return context.additional_context[PRIVACY].prune()

    @every("41 * * * *", "vectors")
    @tasks.task(name="complete_vectors", queue=MAINTENANCE_QUEUE, queueing_lock="complete_vectors",
                pass_context=True)
    def complete_vectors(context: procrastinate.JobContext, timestamp: int) -> int:
        return context.additional_context[OPERATIONS].complete_vectors()

    @every("* * * * *", "stalled-jobs")
    @tasks.task(name="stalled_jobs", queue=MAINTENANCE_QUEUE, queueing_lock="stalled_jobs", pass_context=True)
    def stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> int:
        return context.additional_context[OPERATIONS].retry_stalled_jobs()

    @every(REMINDERS_CRON, "reminders")
    @tasks.task(name="send_reminders", queue=MAINTENANCE_QUEUE, queueing_lock="send_reminders", pass_context=True)
    def send_reminders(context: procrastinate.JobContext, timestamp: int) -> int:
        """The reminders due at this tick (its own time, not the time the job runs: a late job still serves the
        hour it was deferred for); each is sent once however many workers run this."""
        from datetime import datetime, timezone

        extra = context.additional_context
        desk, send = extra.get(REMINDERS), extra.get(REMINDER_SEND)
        if desk is None or send is None:
            return 0
        result = desk.run(datetime.fromtimestamp(timestamp, timezone.utc), send,
                          extra.get(REMINDER_TIME_ZONE) or (lambda user: None), extra.get(REMINDER_LOCALE))
        return len(result.sent)

    return tasks
