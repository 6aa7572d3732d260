"""What leave is computed from: the records (employee, entitlement, the HR system's own balance, leave requests)
and the leave year with the days in it (when it starts for an employee, how much of it they were employed, working
days, completed accrual periods). Nothing here knows a particular company: the rules come from knowledge.profile."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from knowledge.profile.wording import Wording, english
from knowledge.profile.model import LeaveRules


@dataclass(frozen=True)
class Employee:
    employee_id: str
    name: str
    email: str
    country: str
    fte: Decimal
    hire_date: date
    end_date: date | None = None
    department: str | None = None
    employment_type: str = "permanent"
    manager_id: str | None = None
    slack_user_id: str | None = None


@dataclass(frozen=True)
class Entitlement:
    leave_type: str
    year: int
    base_days: Decimal | None
    carried_over: Decimal


@dataclass(frozen=True)
class OfficialBalance:
    """A balance as the HR system computed it (the balances import)."""
    leave_type: str
    year: int
    balance: Decimal
    as_of: date


@dataclass(frozen=True)
class LeaveRecord:
    request_id: str
    leave_type: str
    start_date: date
    end_date: date
    days: Decimal
    status: str


@dataclass(frozen=True)
class LeaveYear:
    start: date
    end: date    # inclusive
    label: int   # the calendar year the leave year starts in (the `year` of entitlement rows)

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.written(english())

    def written(self, words: Wording) -> str:
        """"2026" for a calendar leave year, else its first and last day ("1 April 2026 to 31 March 2027")."""
        if (self.start.month, self.start.day) == (1, 1):
            return str(self.label)
        return words.say("leave_year_span", start=self.start, end=self.end)


def on_day(year: int, month: int, day: int) -> date:
    """That day in that year; 29 February falls on 1 March in other years."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1])) if (month, day) != (2, 29) or \
        calendar.isleap(year) else date(year, 3, 1)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def leave_year(rules: LeaveRules, employee: Employee, on: date) -> LeaveYear:
    month, day = rules.year_start or (employee.hire_date.month, employee.hire_date.day)
    start = on_day(on.year, month, day)
    if start > on:
        start = on_day(on.year - 1, month, day)
    return LeaveYear(start, on_day(start.year + 1, month, day) - timedelta(days=1), start.year)


def leave_year_labelled(rules: LeaveRules, employee: Employee, label: int) -> LeaveYear:
    month, day = rules.year_start or (employee.hire_date.month, employee.hire_date.day)
    return leave_year(rules, employee, on_day(label, month, day))


def months_employed(employee: Employee, year: LeaveYear, cutoff_day: int) -> int:
    """Months of the leave year counted: joining on/before the cutoff day, or leaving on/after it, counts."""
    count = 0
    for k in range(12):
        period = add_months(year.start, k)
        cutoff = period + timedelta(days=cutoff_day - 1)
        if employee.hire_date <= cutoff and (employee.end_date is None or employee.end_date >= cutoff):
            count += 1
    return count


def years_of_service(employee: Employee, on: date) -> int:
    years = on.year - employee.hire_date.year
    if (on.month, on.day) < (employee.hire_date.month, employee.hire_date.day):
        years -= 1
    return max(years, 0)


def employed_in(employee: Employee, year: LeaveYear) -> tuple[date, date] | None:
    first = max(year.start, employee.hire_date)
    last = min(year.end, employee.end_date or year.end)
    return (first, last) if first <= last else None


def working_days(start: date, end: date, holidays: set[date]) -> list[date]:
    days, current = [], start
    while current <= end:
        if current.weekday() < 5 and current not in holidays:
            days.append(current)
        current += timedelta(days=1)
    return days


def spread(record: LeaveRecord, holidays: set[date]) -> list[tuple[date, Decimal]]:
    """A record's days spread evenly over its working days (all on the start date if it has none)."""
    days = working_days(record.start_date, record.end_date, holidays)
    if not days:
        return [(record.start_date, record.days)]
    share = record.days / len(days)
    return [(d, share) for d in days]


def completed_periods(every: str, first: date, as_of: date, last: date) -> int:
    """Accrual periods worked in full between first and min(as_of, last). Months and half months (1st-15th,
    16th-end) follow the calendar, like pay periods; weeks and fortnights are counted from the first day."""
    until = min(as_of, last)
    if until < first:
        return 0
    if every in ("week", "two_weeks"):
        return ((until - first).days + 1) // (7 if every == "week" else 14)
    count, start = 0, date(first.year, first.month, 1)
    while True:
        month_end = add_months(date(start.year, start.month, 1), 1) - timedelta(days=1)
        end = month_end if every == "month" or start.day > 15 else date(start.year, start.month, 15)
        if end > until:
            return count
        if start >= first:
            count += 1
        start = end + timedelta(days=1)
