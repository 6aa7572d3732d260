"""Leave planning: "if I take 22 December to 2 January off, how many days is that and what will I have left?"

Computed in code like the balance (knowledge.people.balances), never by a language model: the period is read
from the question with the language packs' words (knowledge.profile.periods), its working days are counted with
the asker's working pattern, their location's public holidays and the company's closure days, split across
leave years, and each year's balance is computed before and after it, as if the leave were approved. The plan is
one fact with its arithmetic, so a chat model may phrase it but any figure it adds is removed
(guard_personal_numbers) like the balance's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable
from datetime import date, timedelta
from decimal import Decimal

from langchain_core.documents import Document

from knowledge.people.balances import Balance, leave_balance
from knowledge.people.leave import Employee, LeaveRecord, LeaveYear, leave_year, working_days
from knowledge.people.records import PersonalRecords
from knowledge.profile.language import Language
from knowledge.profile.model import CompanyProfile, LeaveRules, Location
from knowledge.profile.periods import Period, read_period
from knowledge.profile.wording import Days, EveryYear, Joined, Said, Wording, english, wording

PLANNED = "planned"  # the request id of the leave being planned, in the balance computed as if it were approved
MAX_PLAN_DAYS = 366


@dataclass
class PlanPart:
    """The share of the plan in one leave year, and that year's balance without and with it."""
    year: LeaveYear
    days: list[date]
    amount: Decimal
    before: Balance | None
    after: Balance | None


@dataclass
class LeavePlan:
    leave_type: str
    label: str
    start: date
    end: date
    fte: Decimal
    days_off: dict[date, str]          # holidays and closure days inside the period (weekends not listed)
    parts: list[PlanPart]
    warnings: list[Said] = field(default_factory=list)
    unlimited: bool = False
    booked: list[date] = field(default_factory=list)  # working days already on approved or pending leave
    no_allowance: bool = False  # a type the profile gives no rules at the location (unpaid leave): days only
    share: Decimal = Decimal(1)  # of each working day: 0.5 for half days ("a half day on 24 December")

    @property
    def working(self) -> int:
        return sum(len(p.days) for p in self.parts)

    @property
    def amount(self) -> Decimal:
        return sum((p.amount for p in self.parts), Decimal(0))

    def text(self, words: Wording | None = None) -> str:
        """The plan in the asker's language (English without `words`); its figures are the same in every one."""
        words = words or english()
        lines = [words.say("plan", label=self.label, start=words.weekday(self.start), end=words.weekday(self.end),
                           count=self._count(words))]
        for part in self.parts:
            lines.append(self._part_text(part, words))
        lines += [words.text(w) for w in self.warnings]
        return " ".join(lines)

    def _count(self, words: Wording) -> str:
        count = words.days(self.working, "working_days_one", "working_days_many")
        skipped = [words.say("plan_day_off", name=name, day=words.weekday(d)) for d, name in self.days_off.items()]
        if self.booked:
            skipped.append(words.say("plan_already_booked", n=len(self.booked)))
        if skipped:
            count = words.say("plan_not_counted", count=count, skipped="; ".join(skipped))
        if self.share != 1:
            return words.say("plan_half" if self.fte == 1 else "plan_half_part_time", count=count, fte=self.fte,
                             working=self.working, days=words.days(self.amount), label=self.label)
        if self.fte != 1:
            return words.say("plan_part_time", count=count, fte=self.fte, working=self.working,
                             days=words.days(self.amount), label=self.label)
        return words.say("plan_total", count=count, days=words.days(self.amount), label=self.label)

    def _part_text(self, part: PlanPart, words: Wording) -> str:
        head = words.say("plan_year", year=part.year, days=words.days(part.amount), first=part.days[0],
                         last=part.days[-1]) if part.days else words.say("plan_year_empty", year=part.year)
        if self.no_allowance:
            return words.say("plan_year_no_allowance", head=head, label=self.label)
        if self.unlimited or part.before is None or part.after is None:
            return words.say("plan_year_unlimited", head=head, label=self.label)
        before, after = part.before, part.after
        if after.available == before.available - part.amount:
            left = words.say("plan_left", before=before.available, amount=part.amount,
                             after=words.days(after.available))
        else:  # carried-over days used before they lapse change what lapses
            left = words.say("plan_left_with", arithmetic=after.arithmetic(words))
        return words.say("plan_year_balance", head=head, as_of=before.as_of, arithmetic=before.arithmetic(words),
                         left=left)

    def as_dict(self, words: Wording | None = None) -> dict:
        return {"kind": "plan", "leave_type": self.leave_type, "no_allowance": self.no_allowance,
                "share_of_each_day": float(self.share),
                "start": self.start.isoformat(),
                "end": self.end.isoformat(), "working_days": self.working, "days": float(self.amount),
                "parts": [{"year": p.year.label, "days": float(p.amount),
                           "available_before": None if p.before is None else float(p.before.available),
                           "available_after": None if p.after is None else float(p.after.available)}
                          for p in self.parts], "warnings": [(words or english()).text(w) for w in self.warnings]}


def resolve(period: Period, holidays: set[date]) -> tuple[date, date]:
    """The period's last day: given, or after its count of working days."""
    if period.end is not None:
        return period.start, period.end
    end, counted = period.start, 0
    while True:
        if end.weekday() < 5 and end not in holidays:
            counted += 1
            if counted == period.working_days:
                return period.start, end
        end += timedelta(days=1)


def plan_leave(rules: LeaveRules, employee: Employee, records: PersonalRecords, holidays: dict[date, str],
               start: date, end: date, today: date, *, label: str, location_name: str,
               name_of: Callable[[str], str] = str, share: Decimal = Decimal(1)) -> LeavePlan:
    """The plan: working days per leave year and, for each, the balance without and with the leave (as an
    approved request), as of the later of today and the leave's last day in that year; then the warnings."""
    booked = _booked_days(records, start, end)
    last = min(end, employee.end_date) if employee.end_date else end
    days = [d for d in working_days(start, end, set(holidays)) if d not in booked and d <= last]
    plan = LeavePlan(rules.leave_type, label, start, end, employee.fte,
                     {d: n for d, n in sorted(holidays.items()) if start <= d <= end and d.weekday() < 5}, [],
                     unlimited=rules.unlimited,
                     booked=sorted(d for d in working_days(start, end, set(holidays)) if d in booked), share=share)
    years: list[LeaveYear] = []
    for d in days:
        if not years or d not in years[-1]:
            years.append(leave_year(rules, employee, d))
    # one request per planned day: days already booked or after the employment ends are not in the plan
    each = employee.fte * share
    planned = [LeaveRecord(PLANNED, rules.leave_type, d, d, _q(each), "approved") for d in days]
    for year in years:
        inside = [d for d in days if d in year]
        part = PlanPart(year, inside, _q(len(inside) * each), None, None)
        if not rules.unlimited:
            as_of = max(today, inside[-1])
            kwargs = dict(label=label, location_name=location_name, year=year)
            part.before = leave_balance(rules, employee, records.entitlements, records.leave, set(holidays), as_of,
                                        **kwargs)
            part.after = leave_balance(rules, employee, records.entitlements, [*records.leave, *planned],
                                       set(holidays), as_of, **kwargs)
        plan.parts.append(part)
    plan.warnings = _warnings(plan, rules, records, start, end, today, name_of)
    return plan


def _q(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _warnings(plan: LeavePlan, rules: LeaveRules, records: PersonalRecords, start: date, end: date,
              today: date, name_of: Callable[[str], str] = str) -> list[Said]:
    """name_of: a leave type's name in the answer's language (its code otherwise)."""
    warnings = []
    ends = records.employee.end_date
    if not plan.parts and not (ends is not None and ends < start):
        warnings.append(Said("plan_no_working_days"))
    for part in plan.parts:
        if part.after is not None and part.after.available < 0:
            warnings.append(Said.of("plan_over", over=Days(-part.after.available), year=part.year,
                                    needed=Days(part.amount), available=Days(part.before.available)))
        warnings += _carry_over_warning(part, today)
    blocked = [(b, [d for d in _days(start, end) if b.covers(d)]) for b in rules.blackout]
    for blackout, hit in blocked:
        if hit:  # the blackout's own description is the company profile's words
            warnings.append(Said.of("plan_blackout", first=hit[0], last=hit[-1], label=plan.label,
                                    blackout=blackout.describe()))
    overlapping = [r for r in records.leave if r.status in ("approved", "pending") and r.start_date <= end
                   and r.end_date >= start]
    if overlapping:
        items = tuple(Said.of("plan_overlap_item", leave_type=name_of(r.leave_type), start=r.start_date, end=r.end_date,
                              status=Said(f"status_{r.status}")) for r in overlapping)
        warnings.append(Said.of("plan_overlap_counted", items=Joined(items),
                                booked=Days(len(plan.booked), "working_days_one", "working_days_many"))
                        if plan.booked else Said.of("plan_overlap", items=Joined(items)))
    if ends is not None and ends < end:
        warnings.append(Said.of("plan_employment_ends", end=ends))
    if end < today:
        warnings.append(Said.of("plan_all_past", today=today))
    elif start < today:
        warnings.append(Said.of("plan_part_past", today=today))
    return warnings


def _booked_days(records: PersonalRecords, start: date, end: date) -> set[date]:
    """Days inside the period already on approved or pending leave of any type: planning them again would take
    them twice."""
    return {d for r in records.leave if r.status in ("approved", "pending") and r.start_date <= end
            and r.end_date >= start for d in _days(max(r.start_date, start), min(r.end_date, end))}


def _carry_over_warning(part: PlanPart, today: date) -> list[Said]:
    """Carried-over days lapse on their expiry unless used: say when this leave uses them first, and when some
    would still lapse (before or while the leave falls)."""
    before, after = part.before, part.after
    if before is None or after is None or not before.carried or before.expiry is None or today > before.expiry:
        return []
    expiry = EveryYear(before.expiry)
    if after.expired:
        key = ("plan_carry_lapses_before" if part.days and part.days[0] > before.expiry
               else "plan_carry_lapses_during")
        return [Said.of(key, expired=Days(after.expired), carried=Days(before.carried), expiry=expiry)]
    if part.days and part.days[0] <= before.expiry:
        return [Said.of("plan_carry_first", expiry=expiry)]
    return []


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


# --- from a question --------------------------------------------------------------------------------------------

def read_question(question: str, profile: CompanyProfile, location: Location | None, today: date,
                  past: bool = False) -> Period | None:
    """The period the question names, read with the question's language first, then the company's others (past:
    a question about what has been, see read_period)."""
    easter = location.easter if location is not None else _western_easter
    detected = profile.language_of(question)
    for language in (detected, *(x for x in profile.languages if x is not detected)):
        if language.dates is not None:
            found = read_period(question, language.dates, today, easter, past=past)
            if found is not None:
                return found
    return None


def _western_easter(year: int) -> date:
    from dateutil.easter import easter

    return easter(year)


def asks_to_plan(question: str, profile: CompanyProfile) -> bool:
    """Time off is meant (planning.phrases), or half a day of it ("a half day on 24 December")."""
    return any(language.plans(question) or language.asks_half(question) for language in profile.languages)


def unsaid(period: Period, question: str, profile: CompanyProfile) -> bool:
    """A period read, but not which days: "from 10 December" (no end), "some days in January" (a month)."""
    return period.open or (period.month and any(x.vague_about(question) for x in profile.languages))


def unreadable_plan_reply(question: str, profile: CompanyProfile, today: date) -> str | None:
    """The kind reply asking for the dates, when the question asks what taking leave would cost but names no
    period the language packs can read (never a guess); None otherwise."""
    if not asks_to_plan(question, profile) or not any(x.asks_cost(question) for x in profile.languages):
        return None  # "If I take parental leave, do I keep my bonus?" asks about a rule, not a cost
    found = read_question(question, profile, None, today)
    if found is not None and not unsaid(found, question, profile):
        return None
    language = profile.language_of(question)
    return language.ask_dates or next((x.ask_dates for x in profile.languages if x.ask_dates), None)


def holidays_in(records: PersonalRecords, location: Location, profile: CompanyProfile | None,
                years: list[int], language: str | None = None) -> dict[date, str]:
    """Days off at the employee's location: public holidays (the holidays library, per the profile, named in
    `language` where the library has it), the company's closure days (the profile) and its own days off from the
    holidays import, which win on a date."""
    closures = profile.closure_days(years) if profile is not None else {}
    return {**location.public_holidays(years, language), **closures, **records.holidays}


def plan_facts(records: PersonalRecords, question: str, today: date, profile: CompanyProfile,
               language: Language | None = None) -> list[Document]:
    """The plan as a fact (kind=plan), for the leave type the question names (else the first with a balance), in
    the asker's language (English without one); nothing when the question does not ask to plan leave or names no
    period."""
    if not asks_to_plan(question, profile):
        return []
    employee = records.employee
    location = profile.location(employee.country)
    period = read_question(question, profile, location, today)
    if location is None or period is None or unsaid(period, question, profile):  # asked for instead
        return []
    years = list(range(min(today, period.start).year - 1, period.start.year + 3))
    words = wording(language)
    holidays = holidays_in(records, location, profile, years, words.code)
    start, end = resolve(period, set(holidays))
    if (end - start).days > MAX_PLAN_DAYS:
        return [Document(page_content=words.say("plan_too_long", days=MAX_PLAN_DAYS), metadata={"kind": "plan"})]
    rules = _rules_for(question, profile, location, employee)
    if rules is None:
        return []
    label = profile.label(rules.leave_type, words.code)
    half = any(x.asks_half(question) for x in profile.languages)
    plan = plan_leave(rules, employee, records, holidays, start, end, today, label=label,
                      location_name=location.name, name_of=lambda code: profile.label(code, words.code),
                      share=Decimal("0.5") if half else Decimal(1))
    plan.no_allowance = location.rules_for(rules.leave_type, employee) is None
    return [Document(page_content=plan.text(words), metadata=plan.as_dict(words))]


def _rules_for(question: str, profile: CompanyProfile, location: Location, employee: Employee) -> LeaveRules | None:
    """The leave type the question names, else the first with a balance. A named type the location gives no
    rules (unpaid leave) is planned as days only, with no balance (a plan for another type would mislead); one
    the asker is not covered by is None."""
    named = [t for t in profile.leave_types  # by its name in any of the company's languages ("Jahresurlaub")
             if question_names(question, t, profile)]
    rules = [location.rules_for(t, employee) for t in (named or profile.leave_types)]
    found = next((r for r in rules if r is not None and r.eligible), None) if rules else None
    if found is None and named and all(r is None for r in rules):
        return LeaveRules(named[0], unlimited=True)  # no allowance to take it from: the working days alone
    return found


def question_names(question: str, leave_type: str, profile: CompanyProfile) -> bool:
    """Does the question name the leave type by any of its names (each language's, and the profile's other words
    for it)?"""
    return any(names_leave_type(question, leave_type, name, profile.generic_leave_words)
               for name in profile.names_of(leave_type))


def names_leave_type(question: str, leave_type: str, label: str, generic: frozenset[str] = frozenset()) -> bool:
    """Does the question name this leave type (its code, or a word of its label that is not one of the language
    packs' `planning.generic` words: "Urlaub" names no type, "unbezahlter" names unpaid leave)?"""
    words = [w for w in re.findall(r"\w+", label.lower()) if w not in generic and not w.isdigit()]
    if not words:  # every word of the name is generic ("time off in lieu"): the whole name, or the code
        return bool(re.search(rf"\b{re.escape(label.lower())}\b|\b{re.escape(leave_type.replace('_', ' '))}\b",
                              question, re.I))
    stems = {w[:max(4, len(w) - 3)] for w in words} | {leave_type.replace("_", " ")}
    return any(re.search(rf"\b{re.escape(s)}", question, re.I) for s in stems)
