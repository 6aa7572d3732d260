"""The Slack side's background jobs as a procrastinate blueprint, run without the Bolt app.

The task only carries ids; the objects it needs (the façade and a Web API client) reach it through the
worker's context, so `hrbot worker` builds those and nothing else (no Bolt app, no `auth.test`).

The runtime database role can insert jobs, and the worker acts with the bot token and the owner's rights, so a
job's arguments carry a seal (an HMAC under a subkey of the binding key, which that role cannot read): a job
forged with SQL ("ingest this file as if an admin shared it") is refused, not run.
"""
from __future__ import annotations

import hmac
import json
import logging

import procrastinate
from slack_sdk import WebClient

from bot.render import plain
from bot.uploads import SlackUploads
from knowledge.assistant import HRAssistant
from knowledge.operations.jobs import INGEST_QUEUE, build_job_app, run_pending, start_worker_thread

NAMESPACE = "hrbot"
INGEST_SLACK_FILE = f"{NAMESPACE}:ingest_slack_file"
OLD_NAMES = ["hrbot.ingest_slack_file"]  # jobs queued by earlier releases still run
UPLOADS = "slack_uploads"                # the key of the SlackUploads in the worker's context
SEAL_PURPOSE = "slack-upload-job"
log = logging.getLogger(__name__)


def job_seal(key, **args) -> str:
    return key.mac(SEAL_PURPOSE, json.dumps(args, sort_keys=True).encode()).hex()


def blueprint() -> procrastinate.Blueprint:
    """A new blueprint each time: adding one to an App renames its tasks, so each App gets its own."""
    tasks = procrastinate.Blueprint()

    @tasks.task(name="ingest_slack_file", queue=INGEST_QUEUE, pass_context=True)
    def ingest_slack_file(context: procrastinate.JobContext, file_id: str, user: str, channel: str,
                          thread_ts: str, seal: str = "") -> None:
        uploads = context.additional_context[UPLOADS]
        expected = job_seal(uploads.assistant.runtime.db.binding_key, file_id=file_id, user=user, channel=channel,
                            thread_ts=thread_ts)
        if not hmac.compare_digest(seal, expected):
            log.error("SECURITY: job %s (a Slack file for %s) carries no valid seal: it was not queued by the bot "
                      "(or before a key rotation); refused", context.job.id, user)
            return
        uploads.ingest(file_id, user, channel, thread_ts)

    return tasks


class SlackJobs:
    """Defers jobs through the runtime's pool and runs them in a worker with the context they need."""

    def __init__(self, assistant: HRAssistant, client: WebClient):
        db = assistant.runtime.db
        self.assistant, self.client = assistant, client
        self.context = {UPLOADS: SlackUploads(assistant, client)}
        self._deferrer = build_job_app(db)
        # The worker's App opens and closes its own connections (a finishing worker would close the
        # deferring side's), so it is a second App over the same queue.
        self.worker_app = build_job_app(db, for_worker=True)
        self.worker_app.add_tasks_from(blueprint(), namespace=NAMESPACE)
        for old in OLD_NAMES:  # a blueprint's aliases get the namespace too, so these are added on the App
            self.worker_app.add_task_alias(self.worker_app.tasks[INGEST_SLACK_FILE], old)

    def defer_upload(self, *, file_id: str, user: str, channel: str, thread_ts: str) -> int:
        args = {"file_id": file_id, "user": user, "channel": channel, "thread_ts": thread_ts}
        return self._deferrer.configure_task(INGEST_SLACK_FILE, queue=INGEST_QUEUE).defer(
            **args, seal=job_seal(self.assistant.runtime.db.binding_key, **args))

    def run_pending(self) -> None:
        run_pending(self.worker_app, context=self.context)

    def run_due_sources(self) -> list:
        """The scheduled sources whose time has come (every minute, where the worker runs)."""
        return self.assistant.run_due_sources(alert=self.source_alert)

    def source_alert(self, source, failures: int, error: str) -> None:
        """Tell every admin, in a DM, that a source keeps failing (once until it works again). The error echoes
        what the source served (addresses, item names), so it is escaped like any content."""
        text = (f":warning: The source *{plain(source.name)}* ({plain(source.kind)}) has failed {failures} runs in a "
                f"row, so its documents are not being updated. Last error: {plain(error)}\nCheck it with "
                "`hrbot sources list`; it is retried with backoff.")
        for slack_user_id, *_ in self.assistant.runtime.admins.list():
            self.client.chat_postMessage(channel=slack_user_id, text=text)

    def start_thread(self, **kwargs):
        """(thread, WorkerStatus): the worker in this process, restarted after errors."""
        return start_worker_thread(self.worker_app, context=self.context, **kwargs)

    def run_forever(self) -> None:
        self.worker_app.run_worker(queues=[INGEST_QUEUE], wait=True, delete_jobs="successful",
                                   additional_context=self.context)
