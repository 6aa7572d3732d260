"""What the Slack listeners share: the core runtime, the conversation log, identity lookups and delivery."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
import os
from threading import BoundedSemaphore, Lock

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import THINKING
from knowledge.answers import Answer, Asker
from knowledge.conversations import ConversationLog
from knowledge.errors import DatabaseUnavailable, HRBotError
from knowledge.runtime import Runtime

log = logging.getLogger(__name__)

UNAVAILABLE = ("Sorry, I can't reach the HR knowledge base right now. Please try again in a few minutes, "
               "or contact {hr_contact}.")
FAILED = "Sorry, something went wrong while I was looking that up. Please try again, or contact {hr_contact}."
EMAIL_TTL = 3600.0


@dataclass
class Asked:
    answer: Answer
    question_id: int | None
    public: Answer | None = None  # with for_channel: the same answer without the asker's records


@dataclass
class BotServices:
    runtime: Runtime
    conversations: ConversationLog
    bot_user_id: str | None = None
    jobs: dict = field(default_factory=dict)  # task name -> procrastinate task (deferred from listeners)
    job_app: object = None                    # the procrastinate App a worker runs (see knowledge/jobs.py)
    _emails: dict = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)
    # Answering is CPU-bound (the embedding model): run about one per core at a time, so queued work waits
    # instead of fighting for the CPU, and the threads that ack Slack's requests get scheduled promptly.
    _gate: BoundedSemaphore = field(default_factory=lambda: BoundedSemaphore(max(2, os.cpu_count() or 2)))

    @property
    def settings(self):
        return self.runtime.settings

    @property
    def admins(self):
        return self.runtime.admins

    def kind(self, template: str) -> str:
        return template.format(hr_contact=self.settings.hr_contact)

    def asker(self, client: WebClient, slack_user_id: str) -> Asker:
        """The verified Slack user; their work email (users.info, cached) is fetched only if no record has
        their Slack id."""
        return Asker(slack_user_id, email_lookup=lambda: self.email(client, slack_user_id))

    def email(self, client: WebClient, slack_user_id: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            cached = self._emails.get(slack_user_id)
            if cached and cached[1] > now:
                return cached[0]
        try:
            profile = client.users_info(user=slack_user_id)["user"].get("profile", {})
            email = profile.get("email")
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", slack_user_id, exc.response.get("error"))
            email = None
        with self._lock:
            self._emails[slack_user_id] = (email, now + EMAIL_TTL)
        return email

    def ask(self, client: WebClient, slack_user_id: str, question: str, surface: str,
            history: list[tuple[str, str]] | None = None, for_channel: bool = False) -> Asked:
        """Answer and log (once). Domain errors become a kind answer; the details go to the log only.
        for_channel: also return the copy others may read, from the same pass."""
        public = None
        try:
            asker = self.asker(client, slack_user_id)
            with self._gate:
                if for_channel:
                    answer, public = self.runtime.answers.answer_with_channel_copy(question, asker, history=history)
                else:
                    answer = self.runtime.answers.answer(question, asker, history=history)
        except DatabaseUnavailable:
            log.exception("database unavailable while answering")
            return Asked(Answer(self.kind(UNAVAILABLE), kind="error"), None)
        except HRBotError as exc:
            log.warning("could not answer: %s", exc)
            return Asked(Answer(str(exc), kind="error"), None)
        except Exception:
            log.exception("answering failed")
            return Asked(Answer(self.kind(FAILED), kind="error"), None)
        try:
            question_id = self.conversations.record(question=question, answer=answer, surface=surface,
                                                    slack_user_id=slack_user_id, employee_id=answer.employee_id)
        except Exception:  # the answer still goes out; feedback buttons are simply left off
            log.exception("could not log the question")
            question_id = None
        return Asked(answer, question_id, public)

    def thread_history(self, client: WebClient, channel: str, thread_ts: str | None,
                       current_ts: str | None) -> list[tuple[str, str]]:
        """The thread so far as (role, text): the conversation a follow-up refers to."""
        if not thread_ts:
            return []
        try:
            messages = client.conversations_replies(channel=channel, ts=thread_ts, limit=20)["messages"]
        except SlackApiError as exc:
            log.warning("conversations.replies failed: %s", exc.response.get("error"))
            return []
        history = []
        for m in messages:
            if m.get("ts") == current_ts or not m.get("text"):
                continue
            role = "assistant" if m.get("bot_id") or m.get("user") == self.bot_user_id else "user"
            if role == "assistant" and m.get("text", "").startswith(THINKING):
                continue
            history.append((role, m["text"]))
        return history[-10:]
