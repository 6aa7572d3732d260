"""Reminders: an employee turns them on or off for themselves (a Slack button), the scheduler sends what is due.

The person is always the one Slack signed the click for, resolved like an asker; the choice is written under
their own binding, so nothing a button carries can change anyone else's. Every change is audited."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from knowledge.answering.answers import Asker
from knowledge.database import audit
from knowledge.operations.reminders import LocaleOf, ReminderRun, RunResult, Send, TimeZoneOf
from knowledge.people.reminders import ReminderChoices
from knowledge.runtime import Runtime


class RemindersDesk:
    def __init__(self, runtime: Runtime):
        self._runtime = runtime
        self._choices = ReminderChoices(runtime.records)

    @property
    def offered(self) -> bool:
        """Whether the company offers reminders (the profile's [reminders] enabled)."""
        return self._runtime.profile.reminders.enabled

    def _employee(self, asker: Asker) -> str | None:
        return self._runtime.records.resolve(asker.slack_user_id, asker.email, asker.email_lookup)

    def is_on(self, asker: Asker) -> bool:
        employee_id = self._employee(asker) if self.offered else None
        return employee_id is not None and self._choices.is_on(employee_id)

    def choose(self, asker: Asker, on: bool, clicked: str | None = None) -> bool | None:
        """Turn the asker's reminders on or off: None when they have no record (or reminders are not offered),
        else whether that changed anything (a click older than their latest, a replay, changes nothing).
        Audited as the person's own act. clicked: Slack's action_ts of the click."""
        employee_id = self._employee(asker) if self.offered or not on else None
        if employee_id is None:
            return None
        changed = self._choices.set(employee_id, on, click_time(clicked))
        if changed:
            audit.record(self._runtime.db, asker.slack_user_id or employee_id,
                         "reminders_on" if on else "reminders_off", employee_id)
        return changed

    def run(self, now: datetime, send: Send, time_zone_of: TimeZoneOf, locale_of: LocaleOf | None = None) -> RunResult:
        """The scheduler's run (knowledge/operations/reminders.py)."""
        runtime = self._runtime
        return ReminderRun(runtime.db, runtime.records, runtime.profile).run(now, send, time_zone_of, locale_of)


def click_time(action_ts) -> Decimal | None:
    """Slack's action_ts ("1700000002.123456") as a number, None when missing or not a number."""
    try:
        value = Decimal(str(action_ts))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value > 0 else None
