"""The Slack side's background jobs as a procrastinate blueprint, run without the Bolt app.

The task only carries ids; the objects it needs (the desks and a Web API client) reach it through the worker's
context, so `hrbot worker` builds those and nothing else (no Bolt app, no `auth.test`).

The runtime database role can insert jobs, and the worker acts with the bot token and the owner's rights, so a
job's arguments carry a seal (an HMAC under a subkey of the binding key, which that role cannot read): a job
forged with SQL ("ingest this file as if an admin shared it") is refused, not run.
"""
from __future__ import annotations

import hmac
import json
import logging
import secrets
import time

import procrastinate
from slack_sdk import WebClient

from bot.reminders import SlackReminders
from bot.render import plain
from bot.uploads import SlackUploads
from knowledge.desks.admins import AdminDesk
from knowledge.desks.operations import OperationsDesk
from knowledge.desks.privacy import PrivacyDesk
from knowledge.desks.reminders import RemindersDesk
from knowledge.desks.sources import SourcesDesk
from knowledge.operations import schedule
from knowledge.operations.jobs import INGEST_QUEUE, run_pending, start_worker_thread

NAMESPACE = "hrbot"
INGEST_SLACK_FILE = f"{NAMESPACE}:ingest_slack_file"
OLD_NAMES = ["hrbot.ingest_slack_file"]  # jobs queued by earlier releases still run
UPLOADS = "slack_uploads"                # the key of the SlackUploads in the worker's context
SLACK_QUEUE = "slack"                    # work that needs this process's Bolt app: any bot process takes it
SLACK_BOT = "slack_bot"                  # the key of the SlackBot (bot.app) in a bot process's worker context
REDELIVERY_CRON = "* * * * * */10"       # every 10 s (croniter's sixth field is seconds)
SEAL_PURPOSE = "slack-upload-job"
log = logging.getLogger(__name__)


def job_seal(key, **args) -> str:
    return key.mac(SEAL_PURPOSE, json.dumps(args, sort_keys=True).encode()).hex()


def sealed(key, **args) -> dict:
    """The job's arguments with a nonce, the time they were made and their seal: the seal proves the bot queued
    them, the nonce makes a copy of them a replay (refused: knowledge.database.seals), the time ages them out."""
    args = {**args, "nonce": secrets.token_hex(16), "issued": int(time.time())}
    return {**args, "seal": job_seal(key, **args)}


def refusal(operations: OperationsDesk, seal: str, **args) -> str | None:
    """Why a job must not run, or None; spends its seal when it may (in its own transaction, before the work:
    a job that then fails is not run again by a copy)."""
    from knowledge.database.seals import SEAL_DAYS

    if not seal or not hmac.compare_digest(seal, job_seal(operations.job_seal_key, **args)):
        return "it carries no valid seal: it was not queued by the bot (or before a key rotation)"
    if not isinstance(args.get("issued"), int) or time.time() - args["issued"] > SEAL_DAYS * 86400:
        return f"it is older than {SEAL_DAYS} days"
    if not operations.spend_job_seal(bytes.fromhex(seal), SEAL_PURPOSE):
        return "it ran before: this is a copy (a replay)"
    return None


def redeliver(bot, limit: int = 10) -> int:
    """Answer the events whose lease ran out unanswered (their process died or stopped): each is dispatched
    through the app again, signed with our own secret, carrying its claim. Returns how many."""
    from slack_bolt import BoltRequest
    from slack_sdk.signature import SignatureVerifier

    from bot.services import CLAIM_KEY

    due = bot.desk.events.take_due(limit)
    secret = bot.desk.settings.slack_signing_secret
    for item in due:
        bot.desk.events.adopt(item.claim)
        body = json.dumps(item.body)
        headers = {"content-type": "application/json"}
        if secret:
            timestamp = str(int(time.time()))
            headers |= {"x-slack-request-timestamp": timestamp,
                        "x-slack-signature": SignatureVerifier(secret).generate_signature(timestamp=timestamp,
                                                                                         body=body)}
        log.warning("answering event %s again (attempt %d): its first process did not finish it",
                    item.claim.event_id, item.claim.attempt)
        bot.app.dispatch(BoltRequest(body=body, headers=headers, context={CLAIM_KEY: item.claim}))
    return len(due)


def blueprint(periodic: bool = True) -> procrastinate.Blueprint:
    """A new blueprint each time: adding one to an App renames its tasks, so each App gets its own. periodic=False:
    nothing is deferred by the clock (a worker that runs what is waiting and stops)."""
    tasks = procrastinate.Blueprint()

    @tasks.task(name="ingest_slack_file", queue=INGEST_QUEUE, pass_context=True)
    def ingest_slack_file(context: procrastinate.JobContext, file_id: str, user: str, channel: str,
                          thread_ts: str, seal: str = "", nonce: str = "", issued: int | None = None,
                          effective: str | None = None) -> None:
        uploads = context.additional_context[UPLOADS]
        dated = {"effective": effective} if effective else {}  # sealed with the rest only when given
        why = refusal(context.additional_context[schedule.OPERATIONS], seal, file_id=file_id, user=user, channel=channel, thread_ts=thread_ts,
                      nonce=nonce, issued=issued, **dated)
        if why:
            log.error("SECURITY: job %s (a Slack file for %s) refused: %s", context.job.id, user, why)
            return
        uploads.ingest(file_id, user, channel, thread_ts, effective=effective)

    def every(task):
        return tasks.periodic(cron=REDELIVERY_CRON, periodic_id="redelivery")(task) if periodic else task

    @every
    @tasks.task(name="redeliver", queue=SLACK_QUEUE, queueing_lock="redeliver", pass_context=True)
    def redeliver_events(context: procrastinate.JobContext, timestamp: int) -> int:
        """Events whose lease ran out unanswered (their process died or stopped), answered by whichever bot
        process takes this job, through its own Bolt app; and askers whose answer Slack never took, told once."""
        from bot.patience import tell_undelivered

        bot = context.additional_context.get(SLACK_BOT)
        if bot is None:
            return 0
        answered = redeliver(bot)
        # Askers whose answers could not get through while Slack was unreachable: told to ask again once it is back.
        tell_undelivered(bot.desk.events, bot.app.client)
        return answered

    return tasks


class SlackJobs:
    """Defers jobs through the operations desk's job app (the runtime's pool) and runs them in a worker with the
    desks they need: the admins' (files shared in Slack, alerts), the sources', privacy's (retention) and the
    operations desk (seals, vectors, stalled jobs)."""

    def __init__(self, client: WebClient, *, admins: AdminDesk, sources: SourcesDesk, privacy: PrivacyDesk,
                 operations: OperationsDesk, reminders: RemindersDesk | None = None):
        self.client, self.admins, self.operations = client, admins, operations
        self._deferrer = operations.job_app()
        self.context = {UPLOADS: SlackUploads(admins, client), schedule.SOURCES: sources,
                        schedule.PRIVACY: privacy, schedule.OPERATIONS: operations,
                        schedule.DEFERRER: self._deferrer, schedule.SOURCE_ALERT: self.source_alert}
        if reminders is not None:  # the reminders run: DMs through this client (bot/reminders.py)
            sender = SlackReminders(client)
            self.context |= {schedule.REMINDERS: reminders, schedule.REMINDER_SEND: sender.send,
                             schedule.REMINDER_TIME_ZONE: sender.time_zone, schedule.REMINDER_LOCALE: sender.locale}
        # The worker's App opens and closes its own connections (a finishing worker would close the
        # deferring side's), so it is a second App over the same queue.
        self.worker_app = self._worker_app(operations, periodic=True)
        self.once_app = self._worker_app(operations, periodic=False)

    @staticmethod
    def _worker_app(operations: OperationsDesk, periodic: bool) -> procrastinate.App:
        app = operations.job_app(for_worker=True)
        app.add_tasks_from(blueprint(periodic), namespace=NAMESPACE)
        app.add_tasks_from(schedule.blueprint(periodic), namespace=schedule.NAMESPACE)
        for old in OLD_NAMES:  # a blueprint's aliases get the namespace too, so these are added on the App
            app.add_task_alias(app.tasks[INGEST_SLACK_FILE], old)
        return app

    def defer_upload(self, *, file_id: str, user: str, channel: str, thread_ts: str,
                     effective: str | None = None) -> int:
        """effective (YYYY-MM-DD): the day the file's version takes effect, sealed with the rest."""
        dated = {"effective": effective} if effective else {}
        return self._deferrer.configure_task(INGEST_SLACK_FILE, queue=INGEST_QUEUE).defer(
            **sealed(self.operations.job_seal_key, file_id=file_id, user=user, channel=channel,
                     thread_ts=thread_ts, **dated))

    def defer_source(self, name: str, reason: str) -> bool:
        """A run of a source now, because its service said something changed (a verified notification); False
        when one is waiting already (the runs are de-duplicated by their queueing lock)."""
        queued = schedule.defer_source(self._deferrer, name)
        log.info("source %s: %s; a run %s", name, reason, "is queued" if queued else "was already waiting")
        return queued

    def attach(self, bot) -> None:
        """The bot process's SlackBot (bot.app): redelivery jobs answer through its Bolt app."""
        self.context[SLACK_BOT] = bot

    def stop_taking_slack_work(self) -> None:
        """Stopping: redelivery jobs this worker still takes answer nothing here (another process will)."""
        self.context.pop(SLACK_BOT, None)

    def queues(self, *, owner: bool, slack: bool) -> list[str]:
        """The queues this process's worker takes: the owner's work where it has the owner's URL, Slack's where
        it has a Bolt app."""
        return ([INGEST_QUEUE, *schedule.OWNER_QUEUES] if owner else []) + ([SLACK_QUEUE] if slack else [])

    def run_pending(self, queues: list[str] | None = None) -> None:
        run_pending(self.once_app, queues=queues or [INGEST_QUEUE, *schedule.OWNER_QUEUES], context=self.context)

    def source_alert(self, source, failures: int, error: str) -> None:
        """Tell every admin, in a DM, that a source keeps failing (once until it works again). The error echoes
        what the source served (addresses, item names), so it is escaped like any content."""
        text = (f":warning: The source *{plain(source.name)}* ({plain(source.kind)}) has failed {failures} runs in a "
                f"row, so its documents are not being updated. Last error: {plain(error)}\nCheck it with "
                "`hrbot sources list`; it is retried with backoff.")
        for slack_user_id in self.admins.admin_ids():
            self.client.chat_postMessage(channel=slack_user_id, text=text)

    def start_thread(self, queues: list[str] | None = None, **kwargs):
        """(thread, WorkerStatus): the worker in this process, restarted after errors."""
        return start_worker_thread(self.worker_app, queues=queues, context=self.context,
                                   concurrency=schedule.SOURCE_CONCURRENCY, **kwargs)

    def run_forever(self, queues: list[str] | None = None) -> None:
        self.worker_app.run_worker(queues=queues or [INGEST_QUEUE, *schedule.OWNER_QUEUES], wait=True,
                                   delete_jobs="successful", additional_context=self.context,
                                   concurrency=schedule.SOURCE_CONCURRENCY)
