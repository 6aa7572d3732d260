"""What a person may be reminded of, computed by the balance engine from their own records, and their choice to be
reminded, kept under their own binding.

Two kinds, each once per leave type and leave year (knowledge/operations/reminders.py sends them):
- `carry_over`: days carried into this leave year that will lapse at the carry-over's expiry, counting the
  approved leave (taken or booked) up to that day, when the expiry is within the company's `weeks_before`;
- `year_end`: days still available when the leave year ends within `weeks_before` (the HR system's balance where
  it is imported, as in answers; ours otherwise).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from knowledge.people.balances import carry_over_expiry, leave_balance
from knowledge.people.leave import LeaveYear, on_day
from knowledge.people.records import PersonalRecords, RecordsReader
from knowledge.profile.language import Language
from knowledge.profile.model import CompanyProfile, Location
from knowledge.profile.wording import Days, Said, Wording, english

CARRY_OVER, YEAR_END = "carry_over", "year_end"


@dataclass(frozen=True)
class DueReminder:
    kind: str            # carry_over | year_end
    leave_type: str
    label: str           # "annual leave", in the language the reminder is written in
    leave_year: int      # the leave year's label (the calendar year it starts in)
    deadline: date       # when the days lapse or the leave year ends
    days: Decimal        # the days at stake
    working: object      # how the figure was found, in one line: a Said (or the balance's arithmetic) to word

    def text(self, words: Wording | None = None) -> str:
        words = words or english()
        one = "_one" if self.kind == CARRY_OVER and words.number(self.days) == "1" else ""  # "it lapses"
        return words.say(f"reminder_{self.kind}{one}", days=Days(self.days), label=self.label, deadline=self.deadline)


def due_reminders(records: PersonalRecords, profile: CompanyProfile, today: date,
                  language: Language | None = None) -> list[DueReminder]:
    """The reminders due for one person today (none for someone who has left or whose location the profile does
    not describe); leave types named in `language` (the company's first when None)."""
    from knowledge.people.personal import holidays_for

    e = records.employee
    location = profile.location(e.country)
    if location is None or (e.end_date is not None and e.end_date < today):
        return []
    code = (language or profile.languages[0]).code
    horizon = today + timedelta(weeks=profile.reminders.weeks_before)
    holidays = set(holidays_for(records, location, today, profile))
    due = []
    for leave_type in profile.leave_types:
        rules = location.rules_for(leave_type, e)
        if rules is None or not rules.eligible or rules.unlimited:
            continue
        label = profile.label(leave_type, code)
        balance = leave_balance(rules, e, records.entitlements, records.leave, holidays, today, label=label,
                                location_name=location.name)
        if balance.expiry and balance.carried and today <= balance.expiry <= horizon:
            after = leave_balance(rules, e, records.entitlements, records.leave, holidays,
                                  balance.expiry + timedelta(days=1), label=label, location_name=location.name,
                                  year=balance.year)
            if after.expired > 0:
                fields = {"carried": Days(after.carried), "used": Days(after.carried - after.expired),
                          "deadline": balance.expiry, "lapse": Days(after.expired)}
                one = "_one" if after.expired == 1 else ""  # "1 day that lapses"
                working = Said.of(f"reminder_carry_working_note{one}", note=after.carry_note, **fields) \
                    if after.carry_note else Said.of(f"reminder_carry_working{one}", **fields)
                due.append(DueReminder(CARRY_OVER, leave_type, label, balance.year.label, balance.expiry,
                                       after.expired, working))
        if today <= balance.year.end <= horizon and (e.end_date is None or e.end_date >= balance.year.end):
            official = next((o for o in records.official if o.leave_type == leave_type
                             and o.year == balance.year.label), None)
            days, working = ((official.balance, Said.of("reminder_official", as_of=official.as_of))
                             if official is not None else (balance.available, _Arithmetic(balance)))
            if balance.pending:  # shown apart, as balance answers do: not yet approved, so not taken off
                working = Said.of("reminder_pending", working=working, days=Days(balance.pending))
            if days > 0:
                due.append(DueReminder(YEAR_END, leave_type, label, balance.year.label, balance.year.end, days,
                                       working))
    return due


@dataclass(frozen=True)
class _Arithmetic:
    """A balance's arithmetic, worded when the reminder is written (Wording.value calls `written`)."""
    balance: object

    def written(self, words: Wording) -> str:
        return self.balance.arithmetic(words)


def may_be_due(location: Location, today: date, weeks: int) -> bool:
    """Whether anyone at this location can have a reminder due today, from the profile alone: a leave year from a
    fixed date ends, or carried-over days lapse, within the window. Leave years from each hire anniversary end on
    any day, so those always need the records. Outside the windows nobody's records are read (or audited) at all."""
    horizon = today + timedelta(weeks=weeks)
    for leave_type, base in location.leave.items():
        for rules in [base, *(replace(base, **o.changes) for o in location.overrides.get(leave_type, ()))]:
            if not rules.eligible or rules.unlimited:
                continue
            if rules.year_start is None:
                return True
            for label in (today.year - 1, today.year):
                start = on_day(label, *rules.year_start)
                year = LeaveYear(start, on_day(label + 1, *rules.year_start) - timedelta(days=1), label)
                expiry = carry_over_expiry(rules, year)
                if today <= year.end <= horizon or (expiry is not None and today <= expiry <= horizon):
                    return True
    return False


# no WHERE on the person on purpose: row-level security shows the bound person's row only
OPTED_IN = "SELECT 1 FROM reminder_optins WHERE wanted"
LATEST = "SELECT wanted, decided_at FROM reminder_optins FOR UPDATE"
CHOOSE = """
INSERT INTO reminder_optins (employee_id, wanted, decided_at) VALUES (%(employee_id)s, %(wanted)s, %(at)s)
ON CONFLICT (employee_id) DO UPDATE SET wanted = EXCLUDED.wanted, decided_at = EXCLUDED.decided_at,
    opted_in_at = CASE WHEN EXCLUDED.wanted AND NOT reminder_optins.wanted THEN now()
                       ELSE reminder_optins.opted_in_at END"""


class ReminderChoices:
    """A person's own choice, read and written as the records role bound to them: a transaction bound to one
    person can neither see nor change another's row (migration 0023's policy)."""

    def __init__(self, reader: RecordsReader):
        self.reader = reader

    def is_on(self, employee_id: str) -> bool:
        with self.reader.bound(employee_id) as conn:
            return conn.execute(OPTED_IN).fetchone() is not None

    def set(self, employee_id: str, on: bool, decided_at: Decimal | None = None) -> bool:
        """Turn them on or off; True when that changed something. decided_at: when the click was made (Slack's
        action_ts; now when not given): a click no newer than the latest choice changes nothing (a replay)."""
        at = decided_at if decided_at is not None else Decimal(str(time.time()))
        with self.reader.bound(employee_id) as conn:
            latest = conn.execute(LATEST).fetchone()
            if latest is not None and latest[1] >= at:
                return False
            conn.execute(CHOOSE, {"employee_id": employee_id, "wanted": on, "at": at})
            return (latest[0] if latest is not None else False) != on
