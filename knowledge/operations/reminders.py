"""The scheduled reminder run: for each person who asked for reminders, at the company's hour in their own time
zone on a working day, the reminders due (knowledge/people/reminders.py) sent once.

"Once" holds across workers and replicas because a reminder is claimed in `reminders_sent` (its primary key is
person, kind, leave type, leave year) before Slack is called, and marked sent after. Slack refusing the message,
or unreachable before it took it, marks the claim failed, to be claimed again by a later run. Anything else
between the claim and the mark (a crash, a time-out that leaves us not knowing whether Slack posted it) leaves the
claim as it is: a reminder may be lost, never sent twice. Nothing here knows Slack: the sending and the person's
Slack time zone are callables the worker's context brings (bot/reminders.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from knowledge.database import audit
from knowledge.database.connection import Database
from knowledge.people.records import RecordsReader
from knowledge.people.reminders import DueReminder, due_reminders, may_be_due
from knowledge.profile.language import Language
from knowledge.profile.model import CompanyProfile
from knowledge.profile.wording import wording

log = logging.getLogger(__name__)
ACTOR = "reminders"

# Who asked for reminders and can get a DM: bound to a Slack account and not gone (read as the owner: identities
# only, no figures; the figures are read under each person's own binding).
CANDIDATES = """
SELECT e.employee_id, e.slack_user_id, e.country FROM reminder_optins o JOIN employees e USING (employee_id)
WHERE o.wanted AND e.slack_user_id IS NOT NULL AND (e.end_date IS NULL OR e.end_date >= %(today)s) ORDER BY e.employee_id"""
CLAIM = """
INSERT INTO reminders_sent (employee_id, kind, leave_type, leave_year, state)
VALUES (%(employee_id)s, %(kind)s, %(leave_type)s, %(leave_year)s, 'sending')
ON CONFLICT (employee_id, kind, leave_type, leave_year) DO UPDATE
    SET state = 'sending', attempts = reminders_sent.attempts + 1, claimed_at = now(), error = NULL
    WHERE reminders_sent.state = 'failed'
RETURNING attempts"""
KEY = ("employee_id = %(employee_id)s AND kind = %(kind)s AND leave_type = %(leave_type)s "
       "AND leave_year = %(leave_year)s AND state = 'sending'")
MARK_SENT = f"UPDATE reminders_sent SET state = 'sent', sent_at = now() WHERE {KEY}"
MARK_FAILED = f"UPDATE reminders_sent SET state = 'failed', error = %(error)s WHERE {KEY}"


class NotDelivered(Exception):
    """Slack did not take the message (it refused it, or could not be reached before it was sent): try later."""


@dataclass(frozen=True)
class Reminder:
    """What one person is reminded of in one DM (everything due for them at this tick), as Slack sends it."""
    slack_user_id: str
    dues: tuple[DueReminder, ...]
    language: Language | None = None  # the company's language their Slack locale asks for (None: the first)

    def items(self) -> list[tuple[str, str]]:
        """(what lapses or is left, how it was found) for each, worded in the reminder's language."""
        words = wording(self.language)
        return [(due.text(words), words.value(due.working)) for due in self.dues]


@dataclass
class RunResult:
    sent: list[tuple[str, str, str]] = field(default_factory=list)    # (employee id, kind, leave type)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    checked: int = 0                                              # people whose records were read


Send = Callable[[Reminder], None]
TimeZoneOf = Callable[[str], "str | None"]
LocaleOf = Callable[[str], "str | None"]  # a Slack user's locale ("de-DE"), or None


class ReminderRun:
    def __init__(self, db: Database, reader: RecordsReader, profile: CompanyProfile):
        self.db, self.reader, self.profile = db, reader, profile

    def run(self, now: datetime, send: Send, time_zone_of: TimeZoneOf, locale_of: LocaleOf | None = None) -> RunResult:
        """Send what is due now. now: the scheduler's tick (aware); a person is considered at the tick that falls
        in the company's hour in their time zone, on a working day, and written to in the company's language
        their Slack locale asks for (locale_of; the company's first language without it)."""
        result = RunResult()
        settings = self.profile.reminders
        if not settings.enabled:
            return result
        owner = self.db.require_owner("send reminders")
        with owner.connection() as conn:
            people = conn.execute(CANDIDATES, {"today": now.astimezone(timezone.utc).date()}).fetchall()
        for employee_id, slack_user_id, country in people:
            location = self.profile.location(country)
            # first without asking Slack: whatever their time zone, their date is within a day of UTC's
            if location is None or not may_be_due(location, now.astimezone(timezone.utc).date() - timedelta(days=1),
                                                  settings.weeks_before + 1):
                continue
            local = now.astimezone(settings.zone_for(time_zone_of(slack_user_id), country))
            if (local.hour != settings.hour or local.weekday() >= 5
                    or not may_be_due(location, local.date(), settings.weeks_before)):
                continue
            language = self.profile.language_for_locale(locale_of(slack_user_id) if locale_of else None)
            self._person(owner, employee_id, slack_user_id, local, send, result, language)
        return result

    def _person(self, owner: Database, employee_id: str, slack_user_id: str, local: datetime, send: Send,
                result: RunResult, language: Language | None = None) -> None:
        from knowledge.people.personal import holidays_for

        records = self.reader.load(employee_id)  # under the person's own binding
        if records is None:
            return
        audit.record(self.db, ACTOR, "read_records", employee_id, surface="reminders")
        result.checked += 1
        location = self.profile.location(records.employee.country)
        today = local.date()
        if location is None or today in holidays_for(records, location, today, self.profile):
            return  # a public holiday or closure there: a working day comes soon enough
        due = due_reminders(records, self.profile, today, language)
        claimed = self._claim(owner, employee_id, due)
        if claimed:
            self._send(owner, employee_id, Reminder(slack_user_id, claimed, language), send, result)

    @staticmethod
    def _key(employee_id: str, due: DueReminder) -> dict:
        return {"employee_id": employee_id, "kind": due.kind, "leave_type": due.leave_type,
                "leave_year": due.leave_year}

    def _claim(self, owner: Database, employee_id: str, due: list[DueReminder]) -> tuple[DueReminder, ...]:
        """The reminders this run may send (not sent, or being sent by another run, already), claimed in one
        transaction in the profile's order: a second run at the same tick waits on the first's claims and then
        gets none of them, so a person gets one DM, not one per leave type from each run."""
        with owner.connection() as conn, conn.transaction():
            return tuple(d for d in due if conn.execute(CLAIM, self._key(employee_id, d)).fetchone() is not None)

    def _send(self, owner: Database, employee_id: str, reminder: Reminder, send: Send, result: RunResult) -> None:
        done = [(employee_id, due.kind, due.leave_type) for due in reminder.dues]
        try:
            send(reminder)
        except NotDelivered as exc:
            with owner.connection() as conn:
                for due in reminder.dues:
                    conn.execute(MARK_FAILED, {**self._key(employee_id, due), "error": str(exc)[:500]})
            log.warning("reminders for %s not delivered (%s); a later run tries again", employee_id, exc)
            result.failed += done
            return
        except Exception:
            log.exception("reminders for %s: not known whether Slack posted them; not sent again", employee_id)
            return
        with owner.connection() as conn:
            for due in reminder.dues:
                conn.execute(MARK_SENT, self._key(employee_id, due))
                audit.audit(conn, ACTOR, "reminder_sent", employee_id, kind=due.kind, leave_type=due.leave_type,
                            leave_year=due.leave_year, days=str(due.days))
        result.sent += done
