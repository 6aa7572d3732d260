"""Leave balances, computed in code from the asker's records and their location's rules in the company profile.

Never guessed by a language model: the chain hands the model (or the offline answerer) these figures and the
arithmetic that produced them. Nothing here knows a particular company: the rules (leave year, allowance,
long service, pro rata, rounding, carry-over, accrual, unlimited) come from knowledge.profile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from knowledge.people.leave import (Employee, Entitlement, LeaveRecord, LeaveYear, completed_periods, employed_in,
                                    leave_year, months_employed, on_day, spread, years_of_service)
from knowledge.profile.model import LeaveRules
from knowledge.profile.wording import EveryYear, Said, Wording, english


@dataclass
class Balance:
    leave_type: str
    label: str                 # "annual leave"
    year: LeaveYear
    as_of: date
    base: Decimal              # full-time allowance (or accrued amount) before FTE and pro rata
    base_reason: Said
    fte: Decimal
    factor: Decimal            # share of the leave year employed (pro rata), 1 when not pro-rated
    factor_text: Said | None   # "8/12 months employed this leave year", None when 1
    entitlement: Decimal
    carried: Decimal
    expired: Decimal
    taken: Decimal
    booked: Decimal
    pending: Decimal
    rounding: str = "none"
    carry_note: Said | None = None  # e.g. "computed: 8 unused in 2025, capped at 5"
    expiry: date | None = None  # when carried-over days lapse
    accrued: bool = False      # entitlement earned so far (accrual), not granted for the year
    unlimited: bool = False
    records_used: list[str] = field(default_factory=list)

    @property
    def available(self) -> Decimal:
        return _q(self.entitlement + self.carried - self.expired - self.taken - self.booked)

    def arithmetic(self, words: Wording | None = None) -> str:
        """The sum, spelled out: what an HR partner would write on the back of an envelope (in the words of the
        asker's language; the figures are the same in every one)."""
        words = words or english()
        if self.unlimited:
            return words.say("unlimited", taken=self.taken, booked=self.booked)
        parts = [words.say("accrued" if self.accrued else "entitlement", days=self.entitlement)]
        if self.carried:
            parts.append(words.say("carried_note", days=self.carried, note=self.carry_note) if self.carry_note
                         else words.say("carried", days=self.carried))
        if self.expired:
            parts.append(words.say("expired", days=self.expired, expiry=EveryYear(self.expiry)))
        parts.append(words.say("taken", days=self.taken))
        parts.append(words.say("booked", days=self.booked))
        return words.say("available", parts=" ".join(parts), days=self.available)

    def entitlement_working(self, words: Wording | None = None) -> str:
        words = words or english()
        if self.unlimited:
            return words.text(self.base_reason)
        working = words.say("working", days=self.base, reason=self.base_reason)
        if self.fte != 1:
            working = words.say("working_fte", working=working, fte=self.fte)
        if self.factor_text:
            working = words.say("working_factor", working=working, factor=self.factor_text)
        if (self.fte != 1 or self.factor_text) and self.rounding != "none":
            working = words.say("working_rounded", working=working, rounding=Said(f"rounding_{self.rounding}"),
                                days=self.entitlement)
        elif self.fte != 1 or self.factor_text:
            working = words.say("working_total", working=working, days=self.entitlement)
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


def _q(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def fmt_days(value: Decimal, words: Wording | None = None) -> str:
    """"1 day", "2.5 days" (in the asker's language with `words`)."""
    return (words or english()).days(value)


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


CARRY_BACK_YEARS = 3  # how many leave years back unreported carry-over is followed (each year's carries the last's)


@dataclass(frozen=True)
class Allowance:
    """This leave year's allowance and how it was found (the first half of a Balance)."""
    base: Decimal
    reason: Said
    amount: Decimal
    factor: Decimal = Decimal(1)
    factor_text: Said | None = None
    accrued: bool = False


@dataclass
class Usage:
    """The year's approved and pending requests of one leave type, day by day (the other half)."""
    taken: Decimal = Decimal(0)
    booked: Decimal = Decimal(0)
    pending: Decimal = Decimal(0)
    by_deadline: Decimal = Decimal(0)  # approved days on or before the carry-over's expiry
    records: list[str] = field(default_factory=list)


def leave_balance(rules: LeaveRules, employee: Employee, entitlements: list[Entitlement], records: list[LeaveRecord],
                  holidays: set[date], as_of: date, *, label: str, location_name: str,
                  year: LeaveYear | None = None, carry_back: int = CARRY_BACK_YEARS) -> Balance:
    """One leave type's balance for the leave year holding as_of (or the given one), with its working. Carry-over
    is the HR system's figure for the year (its entitlements row) when it reports one; otherwise it is computed
    from the previous leave year's unused days by the profile's carry-over rules (carried_from_last_year)."""
    year = year or leave_year(rules, employee, as_of)
    row = next((x for x in entitlements if x.leave_type == rules.leave_type and x.year == year.label), None)
    allowance = _allowance(rules, employee, row, year, as_of, label, location_name)
    if row is not None:
        carried, carry_note = _reported_carry_over(rules, row)
    else:
        carried, carry_note = carried_from_last_year(rules, employee, entitlements, records, holidays, year,
                                                     label=label, location_name=location_name, carry_back=carry_back)
    expiry = carry_over_expiry(rules, year)
    usage = _usage(rules, records, holidays, year, as_of, expiry)
    expired = (max(Decimal(0), carried - usage.by_deadline) if expiry is not None and as_of > expiry
               else Decimal(0))
    return Balance(rules.leave_type, label, year, as_of, allowance.base, allowance.reason, employee.fte,
                   allowance.factor, allowance.factor_text, _q(allowance.amount), _q(carried), _q(expired),
                   _q(usage.taken), _q(usage.booked), _q(usage.pending), rules.rounding, carry_note, expiry,
                   allowance.accrued, rules.unlimited, usage.records)


def _allowance(rules: LeaveRules, employee: Employee, row: Entitlement | None, year: LeaveYear, as_of: date,
               label: str, location_name: str) -> Allowance:
    """The allowance by the kind of rule: unlimited, accrued per pay period, or granted for the year."""
    if rules.unlimited:
        return Allowance(Decimal(0), Said.of("unlimited_reason", location=location_name, label=label), Decimal(0))
    if rules.accrual is not None:
        return _accrued_allowance(rules, employee, year, as_of)
    return _yearly_allowance(rules, employee, row, year, location_name)


def _accrued_allowance(rules: LeaveRules, employee: Employee, year: LeaveYear, as_of: date) -> Allowance:
    """Days earned per completed pay period so far this leave year, times FTE, up to the yearly cap."""
    accrual = rules.accrual
    employed = employed_in(employee, year)
    periods = completed_periods(accrual.every, employed[0], as_of, employed[1]) if employed else 0
    base = accrual.days * periods
    every = Said(f"every_{accrual.every}")
    reason = (Said.of("accrual_so_far", days=accrual.days, every=every, periods=periods) if periods
              else Said.of("accrual_none", days=accrual.days, every=every))
    amount = base * employee.fte
    if accrual.max_days is not None and amount > accrual.max_days:
        amount, reason = accrual.max_days, Said.of("accrual_capped", reason=reason, cap=accrual.max_days)
    return Allowance(base, reason, round_days(amount, rules.rounding), accrued=True)


def _yearly_allowance(rules: LeaveRules, employee: Employee, row: Entitlement | None, year: LeaveYear,
                      location_name: str) -> Allowance:
    """The full-time allowance (the contract's, else the location's with long-service steps), times FTE and the
    share of the leave year employed."""
    if row is not None and row.base_days is not None:
        base, reason = row.base_days, Said("contract_entitlement")
    else:
        base, reason = rules.base_days or Decimal(0), Said.of("location_entitlement", location=location_name)
        service = years_of_service(employee, year.start)
        step = next((s for s in reversed(rules.long_service) if service >= s.after_years), None)
        if step is not None:
            base = step.days
            reason = Said.of("after_service", reason=reason, years=step.after_years)
    factor, factor_text = _pro_rata(rules, employee, year)
    amount = round_days(base * employee.fte * factor, rules.rounding) if factor else Decimal(0)
    return Allowance(base, reason, amount, factor, factor_text)


def _pro_rata(rules: LeaveRules, employee: Employee, year: LeaveYear) -> tuple[Decimal, Said | None]:
    """(share of the leave year employed, said in words; None for a whole year) by the rule's pro rata."""
    employed = employed_in(employee, year)
    if not employed:
        return Decimal(0), Said.of("months_employed", months=0)
    if rules.pro_rata == "months":
        months = months_employed(employee, year, rules.cutoff_day)
        return Decimal(months) / 12, None if months == 12 else Said.of("months_employed", months=months)
    if rules.pro_rata == "calendar_days":
        total = (year.end - year.start).days + 1
        days = (employed[1] - employed[0]).days + 1
        return Decimal(days) / total, None if days == total else Said.of("days_employed", days=days, total=total)
    return Decimal(1), None


def _reported_carry_over(rules: LeaveRules, row: Entitlement) -> tuple[Decimal, Said | None]:
    """The HR system's carry-over for the year, capped by the profile's max_days."""
    carried, cap = row.carried_over, rules.carry_over.max_days
    if cap is not None and carried > cap:
        return cap, Said.of("reported_capped", reported=carried, cap=cap)
    return carried, None


def carry_over_expiry(rules: LeaveRules, year: LeaveYear) -> date | None:
    """When days carried into the year lapse: the first such date on or after the leave year's start."""
    if rules.carry_over.expires is None:
        return None
    expiry = on_day(year.start.year, *rules.carry_over.expires)
    return expiry if expiry >= year.start else on_day(year.start.year + 1, *rules.carry_over.expires)


def _usage(rules: LeaveRules, records: list[LeaveRecord], holidays: set[date], year: LeaveYear, as_of: date,
           expiry: date | None) -> Usage:
    """Each approved or pending request's working days inside the leave year: pending, taken (up to as_of) or
    booked (after it), and the approved ones up to the carry-over's expiry."""
    usage = Usage()
    for record in records:
        if record.leave_type != rules.leave_type or record.status not in ("approved", "pending"):
            continue
        portions = [(d, share) for d, share in spread(record, holidays) if d in year]
        if not portions:
            continue
        if record.request_id not in usage.records:
            usage.records.append(record.request_id)
        for when, share in portions:
            if record.status == "pending":
                usage.pending += share
            elif when <= as_of:
                usage.taken += share
            else:
                usage.booked += share
            if record.status == "approved" and expiry is not None and when <= expiry:
                usage.by_deadline += share
    return usage


def carried_from_last_year(rules: LeaveRules, employee: Employee, entitlements: list[Entitlement],
                           records: list[LeaveRecord], holidays: set[date], year: LeaveYear, *, label: str,
                           location_name: str, carry_back: int = CARRY_BACK_YEARS) -> tuple[Decimal, Said | None]:
    """(days carried into `year`, how they were found) when the HR system reports no carry-over for it: the
    previous leave year's unused days on its last day (its own carry-over included, followed `carry_back` years
    back), capped by the profile's max_days. Nothing when the profile lets no days carry (carry_over = false) or
    sets no carry-over rule at all (then only the HR system's figure counts), for unlimited leave, when the
    employee did not work in the previous leave year, and when the records do not reach into it (neither an
    entitlements row nor a request of this type there): records that start this year cannot tell what was left
    unused, and taking all of last year's allowance as unused would promise days nobody has."""
    carry = rules.carry_over
    if rules.unlimited or carry_back <= 0 or carry.max_days == 0 or (carry.max_days is None and carry.expires is None):
        return Decimal(0), None
    previous = leave_year(rules, employee, year.start - timedelta(days=1))
    if employed_in(employee, previous) is None:
        return Decimal(0), None
    known = (any(e.leave_type == rules.leave_type and e.year == previous.label for e in entitlements)
             or any(r.leave_type == rules.leave_type and r.start_date <= previous.end and r.end_date >= previous.start
                    for r in records))
    if not known:
        return Decimal(0), None
    last = leave_balance(rules, employee, entitlements, records, holidays, previous.end, label=label,
                         location_name=location_name, year=previous, carry_back=carry_back - 1)
    unused = max(Decimal(0), last.available)
    if not unused:
        return Decimal(0), None
    if carry.max_days is not None and unused > carry.max_days:
        return carry.max_days, Said.of("computed_capped", unused=unused, year=previous, cap=carry.max_days)
    return unused, Said.of("computed", year=previous)
