"""The employees' desk: ask (answered and logged once, failures as kind answers), the home summary, feedback and
the hand-off to HR; and the ledger of the events their questions arrive in."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from functools import cached_property
from datetime import date
from threading import BoundedSemaphore
from typing import Callable

from knowledge.answering.answers import Answer, Asker
from knowledge.answering.conversations import ConversationLog, LoggedQuestion
from knowledge.answering.events import EventLedger
from knowledge.answering.streaming import AnswerStream
from knowledge.errors import DatabaseUnavailable, DiskFull, HRBotError
from knowledge.profile.language import Language
from knowledge.runtime import Runtime

log = logging.getLogger(__name__)

UNAVAILABLE = ("Sorry, I can't reach the HR knowledge base right now. Please try again in a few minutes, "
               "or contact {hr_contact}.")
FAILED = "Sorry, something went wrong while I was looking that up. Please try again, or contact {hr_contact}."
HOME_FACT_KINDS = ("balance", "leave")


@dataclass
class Asked:
    answer: Answer
    question_id: int | None       # the logged question (feedback and escalation refer to it); None if not logged
    public: Answer | None = None  # with for_channel: the same answer without the asker's records


@dataclass(frozen=True)
class HomeSummary:
    facts: list[str]                              # the asker's leave this year, computed from their records
    notice: str | None                            # why there are no facts (no record linked)
    team: list[str] | None = None                 # a manager's: the heading, then a line per direct report's leave


class EmployeeDesk:
    """What an employee can do. One per process: its gate bounds the answers running at once, and its event
    ledger holds the leases of the events being answered here."""

    def __init__(self, runtime: Runtime):
        self._runtime = runtime
        self.conversations = ConversationLog(runtime.db)
        self.events = EventLedger(runtime.db)
        # Answering is CPU-bound (the embedding model): about one per core at a time, so queued work waits
        # instead of fighting for the CPU, and the threads that acknowledge requests get scheduled promptly.
        self._gate = BoundedSemaphore(max(2, os.cpu_count() or 2))

    @property
    def settings(self):
        return self._runtime.settings

    @cached_property
    def reminders(self):
        """Their reminders (turned on and off for themselves: knowledge/desks/reminders.py)."""
        from knowledge.desks.reminders import RemindersDesk

        return RemindersDesk(self._runtime)

    @property
    def examples(self) -> tuple[str, ...]:
        """Questions to suggest, from the company profile."""
        return self._runtime.profile.examples

    def kind(self, template: str, language: str | None = None) -> str:
        """A fixed reply with the HR contact (in `language` where the profile words it so)."""
        return template.format(hr_contact=self._runtime.profile.contact(language, self.settings.hr_contact))

    def answer(self, question: str, asker: Asker, history: list[tuple[str, str]] | None = None,
               today: date | None = None, operator: str | None = None, stream: AnswerStream | None = None) -> Answer:
        """The answer alone, not logged and with errors raised (the command line's `ask` and chat). operator:
        who runs the command, audited as the reader of the asker's records; stream: see ask()."""
        return self._runtime.answers.answer(question, asker, history=history, today=today, operator=operator,
                                            stream=stream)

    @property
    def streams(self) -> bool:
        """Whether answers can be streamed as they are written: only a chat model writes word by word. From the
        settings, so asking never builds the answer service outside ask()'s error handling."""
        return self.settings.chat_configured

    def ask(self, question: str, asker: Asker, surface: str, history: list[tuple[str, str]] | None = None,
            for_channel: bool = False, stream: AnswerStream | None = None) -> Asked:
        """Answer and log once. Failures become a kind answer; the details go to the log only.
        for_channel: also return the copy others may read, from the same pass. stream: where the model's checked
        words go while it writes (knowledge.answering.streaming); the Asked is still the whole, final answer."""
        from knowledge.operations.metrics import observe_answer

        started = time.perf_counter()
        asked = self._ask(question, asker, surface, history, for_channel, stream)
        observe_answer(surface, asked.answer.kind, asked.answer.supported, time.perf_counter() - started)
        return asked

    def _ask(self, question, asker, surface, history, for_channel, stream=None) -> Asked:
        try:
            answer, public = self._answered(question, asker, history, for_channel, stream)
        except (DatabaseUnavailable, DiskFull):  # the operator's problem, not the asker's: the kind line, logged
            log.exception("database unavailable while answering")
            return Asked(Answer(self.kind(UNAVAILABLE), kind="error"), None)
        except HRBotError as exc:
            log.warning("could not answer: %s", exc)
            return Asked(Answer(str(exc), kind="error"), None)
        except Exception:
            log.exception("answering failed")
            return Asked(Answer(self.kind(FAILED), kind="error"), None)
        return Asked(answer, self._logged(question, answer, asker, surface), public)

    def _answered(self, question, asker, history, for_channel, stream=None) -> tuple[Answer, Answer | None]:
        answers = self._runtime.answers
        with self._gate:
            if for_channel:
                return answers.answer_with_channel_copy(question, asker, history=history)
            return answers.answer(question, asker, history=history, stream=stream), None

    def _logged(self, question: str, answer: Answer, asker: Asker, surface: str) -> int | None:
        try:
            return self.conversations.record(question=question, answer=answer, surface=surface,
                                             slack_user_id=asker.slack_user_id, employee_id=answer.employee_id)
        except Exception:  # the answer still goes out; feedback buttons are simply left off
            log.exception("could not log the question")
            return None

    def home(self, asker: Asker, today: date | None = None, language: Language | None = None) -> HomeSummary:
        """The asker's leave this year (an audited read of their records), in `language` (the company's first
        when None: the App Home has no question to read a language from; the bot passes the Slack locale's)."""
        from knowledge.database import audit
        from knowledge.people.personal import personal_facts
        from knowledge.profile.wording import wording

        profile = self._runtime.profile
        language = language or profile.languages[0]
        records_reader = self._runtime.records
        employee_id = records_reader.resolve(asker.slack_user_id, asker.email, asker.email_lookup)
        records = records_reader.load(employee_id) if employee_id else None
        facts: list[str] = []
        if records is not None:
            audit.record(self._runtime.db, asker.slack_user_id or "unknown", "read_records", employee_id,
                         surface="app_home")
            facts = [d.page_content for d in personal_facts(records, today or date.today(), profile, language)
                     if d.metadata.get("kind") in HOME_FACT_KINDS]
        team = self._team(employee_id, asker, today or date.today(), language) if records is not None else None
        return HomeSummary(facts, None if facts else wording(language).say("home_no_record"), team)

    def language_for(self, locale: str | None) -> Language:
        """The company's language a Slack locale asks for (its first when none of them)."""
        return self._runtime.profile.language_for_locale(locale)

    def _team(self, employee_id: str, asker: Asker, today: date, language: Language) -> list[str] | None:
        """A manager's direct reports and their leave in the next weeks (read through the database's team
        function, audited per report); None for anyone with no reports."""
        from knowledge.people.team import read_team, team_lines, team_period, team_words

        profile = self._runtime.profile
        words = team_words(profile, language=language)
        if words is None:
            return None
        start, end = team_period(None, profile, None, today)
        team = read_team(self._runtime.records, employee_id, start, end, asker.slack_user_id or "unknown",
                         via="app_home")
        if not team.reports:
            return None
        heading = words.heading.format(start=words.day(start), end=words.day(end))
        return [heading, *team_lines(team, words, profile, everyone=True)]

    def feedback(self, question_id: int, slack_user_id: str, helpful: bool, comment: str | None = None) -> None:
        self.conversations.feedback(question_id, slack_user_id, helpful, comment)

    def logged_question(self, question_id: int) -> LoggedQuestion | None:
        return self.conversations.get(question_id)

    def escalate(self, question_id: int, slack_user_id: str, destination: str, send: Callable[[], None]) -> bool:
        """Hand a question to HR: send runs inside the transaction that records it, so a failed send records
        nothing and the next attempt tries again."""
        return self.conversations.escalate(question_id, slack_user_id, destination, send)

    def claim_event(self, event_id: str, body: dict):
        """The lease on a new event (knowledge.answering.events.Claim), or None for a retry or duplicate."""
        return self.events.claim(event_id, body)
