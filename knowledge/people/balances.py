"""Leave balances, computed in code from the asker's records and their location's rules in the company profile.

Never guessed by a language model: the chain hands the model (or the offline answerer) these figures and the
arithmetic that produced them. Nothing here knows a particular company: the rules (leave year, allowance,
long service, pro rata, rounding, carry-over, accrual, unlimited) come from knowledge.profile.
"""
from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from knowledge.profile.model import LeaveRules
from knowledge.profile.dates import day, day_month


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
        if (self.start.month, self.start.day) == (1, 1):
            return str(self.label)
        return f"{day(self.start)} to {day(self.end)}"


@dataclass
class Balance:
    leave_type: str
    label: str                 # "annual leave"
    year: LeaveYear
    as_of: date
    base: Decimal              # full-time allowance (or accrued amount) before FTE and pro rata
    base_reason: str
    fte: Decimal
    factor: Decimal            # share of the leave year employed (pro rata), 1 when not pro-rated
    factor_text: str           # "8/12 months employed this leave year", "" when 1
    entitlement: Decimal
    carried: Decimal
    expired: Decimal
    taken: Decimal
    booked: Decimal
    pending: Decimal
    rounding: str = "none"
    carry_note: str = ""       # e.g. "capped at 5"
    expiry: date | None = None  # when carried-over days lapse
    accrued: bool = False      # entitlement earned so far (accrual), not granted for the year
    unlimited: bool = False
    records_used: list[str] = field(default_factory=list)

    @property
    def available(self) -> Decimal:
        return _q(self.entitlement + self.carried - self.expired - self.taken - self.booked)

    def arithmetic(self) -> str:
        """The sum, spelled out: what an HR partner would write on the back of an envelope."""
        if self.unlimited:
            return (f"no fixed allowance (unlimited); {_fmt(self.taken)} taken and {_fmt(self.booked)} booked "
                    "ahead this leave year")
        parts = [f"{_fmt(self.entitlement)} {'accrued so far' if self.accrued else 'entitlement'}"]
        if self.carried:
            parts.append(f"+ {_fmt(self.carried)} carried over" + (f" ({self.carry_note})" if self.carry_note else ""))
        if self.expired:
            parts.append(f"- {_fmt(self.expired)} carried-over expired on {day_month(self.expiry)}")
        parts.append(f"- {_fmt(self.taken)} taken")
        parts.append(f"- {_fmt(self.booked)} booked ahead")
        return " ".join(parts) + f" = {_fmt(self.available)} days available"

    def entitlement_working(self) -> str:
        if self.unlimited:
            return self.base_reason
        working = f"{_fmt(self.base)} days ({self.base_reason})"
        if self.fte != 1:
            working += f" x {_fmt(self.fte)} FTE"
        if self.factor_text:
            working += f" x {self.factor_text}"
        if (self.fte != 1 or self.factor_text) and self.rounding != "none":
            working += f", {ROUNDING_WORDS[self.rounding]} = {_fmt(self.entitlement)} days"
        elif self.fte != 1 or self.factor_text:
            working += f" = {_fmt(self.entitlement)} days"
        return working

    def as_dict(self) -> dict:
        return {
            "leave_type": self.leave_type, "label": self.label, "year": self.year.label, "year_start": self.year.start.isoformat(),
            "year_end": self.year.end.isoformat(), "as_of": self.as_of.isoformat(),
            "entitlement": float(self.entitlement), "carried": float(self.carried), "expired": float(self.expired),
            "taken": float(self.taken), "booked": float(self.booked), "pending": float(self.pending),
            "available": None if self.unlimited else float(self.available), "unlimited": self.unlimited,
            "arithmetic": self.arithmetic(), "entitlement_working": self.entitlement_working(),
            "records_used": self.records_used,
        }


ROUNDING_WORDS = {"up_half": "rounded up to the nearest half day", "nearest_half": "rounded to the nearest half day",
                  "up_whole": "rounded up to a whole day", "nearest_whole": "rounded to the nearest whole day"}


def _q(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def fmt_days(value: Decimal) -> str:
    text = _fmt(value)
    return f"{text} day" if text == "1" else f"{text} days"


def round_days(value: Decimal, rounding: str) -> Decimal:
    tiny = Decimal("1e-9")  # 25 x 0.6 x 8/12 is 9.9999999... in decimals: it is 10
    if rounding == "up_half":
        return Decimal(math.ceil(value * 2 - tiny)) / 2
    if rounding == "nearest_half":
        return (value * 2).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 2
    if rounding == "up_whole":
        return Decimal(math.ceil(value - tiny))
    if rounding == "nearest_whole":
        return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _q(value)


def round_up_half(value: Decimal) -> Decimal:
    return round_days(value, "up_half")


def _on(year: int, month: int, day: int) -> date:
    """That day in that year; 29 February falls on 1 March in other years."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1])) if (month, day) != (2, 29) or \
        calendar.isleap(year) else date(year, 3, 1)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def leave_year(rules: LeaveRules, employee: Employee, on: date) -> LeaveYear:
    month, day = rules.year_start or (employee.hire_date.month, employee.hire_date.day)
    start = _on(on.year, month, day)
    if start > on:
        start = _on(on.year - 1, month, day)
    return LeaveYear(start, _on(start.year + 1, month, day) - timedelta(days=1), start.year)


def leave_year_labelled(rules: LeaveRules, employee: Employee, label: int) -> LeaveYear:
    month, day = rules.year_start or (employee.hire_date.month, employee.hire_date.day)
    return leave_year(rules, employee, _on(label, month, day))


def months_employed(employee: Employee, year: LeaveYear, cutoff_day: int) -> int:
    """Months of the leave year counted: joining on/before the cutoff day, or leaving on/after it, counts."""
    count = 0
    for k in range(12):
        period = _add_months(year.start, k)
        cutoff = period + timedelta(days=cutoff_day - 1)
        if employee.hire_date <= cutoff and (employee.end_date is None or employee.end_date >= cutoff):
            count += 1
    return count


def years_of_service(employee: Employee, on: date) -> int:
    years = on.year - employee.hire_date.year
    if (on.month, on.day) < (employee.hire_date.month, employee.hire_date.day):
        years -= 1
    return max(years, 0)


def _employed_in(employee: Employee, year: LeaveYear) -> tuple[date, date] | None:
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


def _completed_periods(every: str, first: date, as_of: date, last: date) -> int:
    """Accrual periods worked in full between first and min(as_of, last). Months and half months (1st-15th,
    16th-end) follow the calendar, like pay periods; weeks and fortnights are counted from the first day."""
    until = min(as_of, last)
    if until < first:
        return 0
    if every in ("week", "two_weeks"):
        return ((until - first).days + 1) // (7 if every == "week" else 14)
    count, start = 0, date(first.year, first.month, 1)
    while True:
        month_end = _add_months(date(start.year, start.month, 1), 1) - timedelta(days=1)
        end = month_end if every == "month" or start.day > 15 else date(start.year, start.month, 15)
        if end > until:
            return count
        if start >= first:
            count += 1
        start = end + timedelta(days=1)


CARRY_BACK_YEARS = 3  # how many leave years back unreported carry-over is followed (each year's carries the last's)


def leave_balance(rules: LeaveRules, employee: Employee, entitlements: list[Entitlement], records: list[LeaveRecord],
                  holidays: set[date], as_of: date, *, label: str, location_name: str,
                  year: LeaveYear | None = None, carry_back: int = CARRY_BACK_YEARS) -> Balance:
    """One leave type's balance for the leave year holding as_of (or the given one), with its working. Carry-over
    is the HR system's figure for the year (its entitlements row) when it reports one; otherwise it is computed
    from the previous leave year's unused days by the profile's carry-over rules (carried_from_last_year)."""
    year = year or leave_year(rules, employee, as_of)
    row = next((x for x in entitlements if x.leave_type == rules.leave_type and x.year == year.label), None)
    employed = _employed_in(employee, year)
    fte = employee.fte
    factor, factor_text = Decimal(1), ""
    accrued = False
    if rules.unlimited:
        base, reason = Decimal(0), f"{location_name}: {label} is unlimited, with no fixed allowance"
        amount = Decimal(0)
    elif rules.accrual is not None:
        accrual = rules.accrual
        periods = _completed_periods(accrual.every, employed[0], as_of, employed[1]) if employed else 0
        base = accrual.days * periods
        reason = (f"{_fmt(accrual.days)} days per {accrual.every.replace('_', ' ')} x {periods} completed so far"
                  if periods else f"{_fmt(accrual.days)} days per {accrual.every.replace('_', ' ')}, none completed yet")
        amount = base * fte
        if accrual.max_days is not None and amount > accrual.max_days:
            amount, reason = accrual.max_days, reason + f", capped at {_fmt(accrual.max_days)} a year"
        amount = round_days(amount, rules.rounding)
        accrued = True
    else:
        if row is not None and row.base_days is not None:
            base, reason = row.base_days, "your contractual full-time entitlement"
        else:
            base, reason = rules.base_days or Decimal(0), f"{location_name} full-time entitlement"
            service = years_of_service(employee, year.start)
            step = next((s for s in reversed(rules.long_service) if service >= s.after_years), None)
            if step is not None:
                base = step.days
                reason += f" after {step.after_years} years' service"
        if not employed:
            factor, factor_text = Decimal(0), "0 months employed this leave year"
        elif rules.pro_rata == "months":
            months = months_employed(employee, year, rules.cutoff_day)
            factor = Decimal(months) / 12
            factor_text = "" if months == 12 else f"{months}/12 months employed this leave year"
        elif rules.pro_rata == "calendar_days":
            total = (year.end - year.start).days + 1
            days = (employed[1] - employed[0]).days + 1
            factor = Decimal(days) / total
            factor_text = "" if days == total else f"{days}/{total} days employed this leave year"
        amount = round_days(base * fte * factor, rules.rounding) if factor else Decimal(0)
    carry_note = ""
    if row is not None:
        carried = row.carried_over
        if rules.carry_over.max_days is not None and carried > rules.carry_over.max_days:
            carry_note = f"{_fmt(carried)} reported, capped at {_fmt(rules.carry_over.max_days)}"
            carried = rules.carry_over.max_days
    else:
        carried, carry_note = carried_from_last_year(rules, employee, entitlements, records, holidays, year,
                                                     label=label, location_name=location_name, carry_back=carry_back)
    expiry = None
    if rules.carry_over.expires is not None:
        expiry = _on(year.start.year, *rules.carry_over.expires)
        if expiry < year.start:
            expiry = _on(year.start.year + 1, *rules.carry_over.expires)
    taken = booked = pending = used_by_deadline = Decimal(0)
    used: list[str] = []
    for record in records:
        if record.leave_type != rules.leave_type or record.status not in ("approved", "pending"):
            continue
        portions = [(d, share) for d, share in spread(record, holidays) if d in year]
        if not portions:
            continue
        used.append(record.request_id)
        for day, share in portions:
            if record.status == "pending":
                pending += share
            elif day <= as_of:
                taken += share
            else:
                booked += share
            if record.status == "approved" and expiry is not None and day <= expiry:
                used_by_deadline += share
    expired = max(Decimal(0), carried - used_by_deadline) if expiry is not None and as_of > expiry else Decimal(0)
    return Balance(rules.leave_type, label, year, as_of, base, reason, fte, factor, factor_text, _q(amount),
                   _q(carried), _q(expired), _q(taken), _q(booked), _q(pending), rules.rounding, carry_note, expiry,
                   accrued, rules.unlimited, used)


def carried_from_last_year(rules: LeaveRules, employee: Employee, entitlements: list[Entitlement],
                           records: list[LeaveRecord], holidays: set[date], year: LeaveYear, *, label: str,
                           location_name: str, carry_back: int = CARRY_BACK_YEARS) -> tuple[Decimal, str]:
    """(days carried into `year`, how they were found) when the HR system reports no carry-over for it: the
    previous leave year's unused days on its last day (its own carry-over included, followed `carry_back` years
    back), capped by the profile's max_days. Nothing when the profile lets no days carry (carry_over = false) or
    sets no carry-over rule at all (then only the HR system's figure counts), for unlimited leave, when the
    employee did not work in the previous leave year, and when the records do not reach into it (neither an
    entitlements row nor a request of this type there): records that start this year cannot tell what was left
    unused, and taking all of last year's allowance as unused would promise days nobody has."""
    carry = rules.carry_over
    if rules.unlimited or carry_back <= 0 or carry.max_days == 0 or (carry.max_days is None and carry.expires is None):
        return Decimal(0), ""
    previous = leave_year(rules, employee, year.start - timedelta(days=1))
    if _employed_in(employee, previous) is None:
        return Decimal(0), ""
    known = (any(e.leave_type == rules.leave_type and e.year == previous.label for e in entitlements)
             or any(r.leave_type == rules.leave_type and r.start_date <= previous.end and r.end_date >= previous.start
                    for r in records))
    if not known:
        return Decimal(0), ""
    last = leave_balance(rules, employee, entitlements, records, holidays, previous.end, label=label,
                         location_name=location_name, year=previous, carry_back=carry_back - 1)
    unused = max(Decimal(0), last.available)
    if not unused:
        return Decimal(0), ""
    if carry.max_days is not None and unused > carry.max_days:
        return carry.max_days, f"computed: {_fmt(unused)} unused in {previous}, capped at {_fmt(carry.max_days)}"
    return unused, f"computed: unused in {previous}"
