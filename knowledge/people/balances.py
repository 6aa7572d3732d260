"""Leave balances, computed in code from the asker's records as the sample annual leave policy says.

Never guessed by a language model: the chain hands the model (or the offline answerer) these figures and the
arithmetic that produced them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_BASE_DAYS = {"GB": Decimal(25), "DE": Decimal(30)}
GB_LONG_SERVICE_DAYS = Decimal(27)
GB_LONG_SERVICE_YEARS = 5
CARRY_OVER_DEADLINE = (3, 31)  # carried-over days must be used by 31 March
CUTOFF_DAY = 15                # joining on/before the 15th (leaving on/after it) counts the month


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
class LeaveRecord:
    request_id: str
    leave_type: str
    start_date: date
    end_date: date
    days: Decimal
    status: str


@dataclass
class Balance:
    leave_type: str
    year: int
    as_of: date
    base: Decimal
    base_reason: str
    fte: Decimal
    months: int
    entitlement: Decimal
    carried: Decimal
    expired: Decimal
    taken: Decimal
    booked: Decimal
    pending: Decimal
    records_used: list[str] = field(default_factory=list)

    @property
    def available(self) -> Decimal:
        return _q(self.entitlement + self.carried - self.expired - self.taken - self.booked)

    def arithmetic(self) -> str:
        """The sum, spelled out: what an HR partner would write on the back of an envelope."""
        parts = [f"{_fmt(self.entitlement)} entitlement"]
        if self.carried:
            parts.append(f"+ {_fmt(self.carried)} carried over")
        if self.expired:
            parts.append(f"- {_fmt(self.expired)} carried-over expired on 31 March")
        parts.append(f"- {_fmt(self.taken)} taken")
        parts.append(f"- {_fmt(self.booked)} booked ahead")
        return " ".join(parts) + f" = {_fmt(self.available)} days available"

    def entitlement_working(self) -> str:
        working = f"{_fmt(self.base)} days ({self.base_reason})"
        if self.fte != 1:
            working += f" x {_fmt(self.fte)} FTE"
        if self.months != 12:
            working += f" x {self.months}/12 months employed this year"
        if self.fte != 1 or self.months != 12:
            working += f", rounded up to the nearest half day = {_fmt(self.entitlement)} days"
        return working

    def as_dict(self) -> dict:
        return {
            "leave_type": self.leave_type, "year": self.year, "as_of": self.as_of.isoformat(),
            "entitlement": float(self.entitlement), "carried": float(self.carried), "expired": float(self.expired),
            "taken": float(self.taken), "booked": float(self.booked), "pending": float(self.pending),
            "available": float(self.available), "arithmetic": self.arithmetic(),
            "entitlement_working": self.entitlement_working(), "records_used": self.records_used,
        }


def _q(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def fmt_days(value: Decimal) -> str:
    text = _fmt(value)
    return f"{text} day" if text == "1" else f"{text} days"


def round_up_half(value: Decimal) -> Decimal:
    return Decimal(math.ceil(value * 2 - Decimal("1e-9"))) / 2


def months_employed(employee: Employee, year: int) -> int:
    hire, end = employee.hire_date, employee.end_date
    if hire.year > year or (end is not None and end.year < year):
        return 0
    count = 0
    for month in range(1, 13):
        started = hire.year < year or hire.month < month or (hire.month == month and hire.day <= CUTOFF_DAY)
        stayed = (end is None or end.year > year or end.month > month
                  or (end.month == month and end.day >= CUTOFF_DAY))
        count += started and stayed
    return count


def default_base(employee: Employee, year: int) -> tuple[Decimal, str]:
    if employee.country == "GB":
        try:
            anniversary = employee.hire_date.replace(year=employee.hire_date.year + GB_LONG_SERVICE_YEARS)
        except ValueError:  # hired on 29 February
            anniversary = date(employee.hire_date.year + GB_LONG_SERVICE_YEARS, 3, 1)
        if anniversary <= date(year, 1, 1):
            return GB_LONG_SERVICE_DAYS, "UK full-time entitlement after 5 years' service"
        return DEFAULT_BASE_DAYS["GB"], "UK full-time entitlement"
    if employee.country in DEFAULT_BASE_DAYS:
        return DEFAULT_BASE_DAYS[employee.country], f"{employee.country} full-time entitlement"
    raise ValueError(f"no default entitlement for country {employee.country}")


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


def annual_balance(employee: Employee, entitlement: Entitlement | None, records: list[LeaveRecord],
                   holidays: set[date], as_of: date, year: int | None = None) -> Balance:
    year = year or as_of.year
    if entitlement is not None and entitlement.base_days is not None:
        base, reason = entitlement.base_days, "your contractual full-time entitlement"
    else:
        base, reason = default_base(employee, year)
    months = months_employed(employee, year)
    amount = round_up_half(base * employee.fte * months / 12) if months else Decimal(0)
    carried = entitlement.carried_over if entitlement is not None else Decimal(0)
    deadline = date(year, *CARRY_OVER_DEADLINE)
    taken = booked = pending = used_by_deadline = Decimal(0)
    used: list[str] = []
    for record in records:
        if record.leave_type != "annual" or record.status not in ("approved", "pending"):
            continue
        portions = [(d, share) for d, share in spread(record, holidays) if d.year == year]
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
            if record.status == "approved" and day <= deadline:
                used_by_deadline += share
    expired = max(Decimal(0), carried - used_by_deadline) if as_of > deadline else Decimal(0)
    return Balance("annual", year, as_of, base, reason, employee.fte, months, _q(amount), _q(carried),
                   _q(expired), _q(taken), _q(booked), _q(pending), used)
