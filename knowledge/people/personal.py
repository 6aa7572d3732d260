"""The asker's own facts as LangChain Documents: profile, computed balances with arithmetic, leave, holidays."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from knowledge.people.balances import leave_balance
from knowledge.people.planning import asks_to_plan, holidays_in, plan_facts, question_names
from knowledge.people.records import PersonalRecords
from knowledge.profile.language import Language
from knowledge.profile.model import CompanyProfile, Location
from knowledge.profile.wording import Days, EveryYear, Joined, Said, Wording, wording

def personal_facts(records: PersonalRecords, today: date, profile: CompanyProfile,
                   language: Language | None = None) -> list[Document]:
    """Facts about one employee, each a Document with metadata kind=profile|balance|leave|holidays, in the
    asker's language (English without one); balances follow the rules of the employee's location in the company
    profile."""
    e = records.employee
    words = wording(language)
    location = profile.location(e.country)
    place = location.name if location else e.country
    docs = [Document(page_content=_profile_text(e, place, words), metadata={"kind": "profile"})]
    if location is None:
        docs.append(Document(page_content=words.say("unknown_location", country=e.country),
                             metadata={"kind": "balance", "leave_type": None}))
        return docs + _leave_and_holidays(records, today, {}, place, words, profile)
    holidays = holidays_for(records, location, today, profile, words.code)
    for leave_type in profile.leave_types:
        rules = location.rules_for(leave_type, e)
        label = profile.label(leave_type, words.code)
        if rules is None:  # no allowance here (sick leave, unpaid leave): what was taken is still theirs to know
            docs.append(_taken_this_year(records, leave_type, label, today, words))
            continue
        if not rules.eligible:
            docs.append(Document(page_content=words.say(
                "not_covered", employment=Said(f"employment_{e.employment_type}"), label=label), metadata={
                    "kind": "balance", "leave_type": leave_type, "label": label, "covered": False,
                    "employment_type": e.employment_type}))
            continue
        balance = leave_balance(rules, e, records.entitlements, records.leave, set(holidays), today, label=label,
                                location_name=location.name)
        official = next((o for o in records.official if o.leave_type == leave_type
                         and o.year == balance.year.label), None)
        if official is not None and not balance.unlimited:
            text, extra = official_balance_text(official, rules, records, holidays, balance, label, location.name,
                                                words)
            docs.append(Document(page_content=text, metadata={"kind": "balance", **balance.as_dict(), **extra}))
            continue
        docs.append(Document(page_content=_balance_text(balance, label, today, words),
                             metadata={"kind": "balance", **balance.as_dict()}))
    return docs + _leave_and_holidays(records, today, holidays, place, words, profile)


def _taken_this_year(records: PersonalRecords, leave_type: str, label: str, today: date,
                     words: Wording) -> Document:
    """A leave type with no allowance at the location: the approved days of it this calendar year, taken (up to
    today) and booked ahead, each request listed; kind=taken, chosen only when the question names the type."""
    mine = [r for r in records.leave if r.leave_type == leave_type and r.status == "approved"
            and r.start_date.year == today.year]
    taken = [r for r in mine if r.start_date <= today]
    booked = sum((r.days for r in mine if r.start_date > today), Decimal(0))
    total = sum((r.days for r in taken), Decimal(0))
    items = Joined(tuple(Said.of("taken_item", start=r.start_date, end=r.end_date, days=Days(r.days))
                         for r in taken[-10:]))
    text = words.say("taken_year" if taken else "taken_none", label=_capital(label), year=today.year,
                     taken=Days(total), items=items, booked=Days(booked))
    return Document(page_content=text, metadata={"kind": "taken", "leave_type": leave_type, "label": label,
                                                 "year": today.year, "taken": float(total), "booked": float(booked)})


def _profile_text(e, place: str, words: Wording) -> str:
    hours = Said("full_time") if e.fte == 1 else Said.of("part_time", fte=Decimal(e.fte))
    fields = dict(name=e.name, employee_id=e.employee_id, hours=hours, employment=Said(f"employment_{e.employment_type}"),
                  place=place, hired=e.hire_date)
    text = words.say("profile", **fields)
    if e.department:
        text = words.say("profile_department", profile=text, department=e.department)
    if e.end_date:
        text = words.say("profile_last_day", profile=text, last_day=e.end_date)
    return words.say("profile_sentence", profile=text)


def _balance_text(balance, label: str, today: date, words: Wording) -> str:
    """One leave type's balance as of today with its arithmetic, how the entitlement was found, pending
    requests and the carry-over's deadline."""
    lines = [words.say("balance", label=_capital(label), year=balance.year, today=today,
                       arithmetic=balance.arithmetic(words))]
    if not balance.unlimited:
        lines.append(words.say("balance_working", working=balance.entitlement_working(words)))
    if balance.pending:
        lines.append(words.say("balance_pending", days=Days(balance.pending)))
    if balance.carried and not balance.expired and balance.expiry and today <= balance.expiry:
        lines.append(words.say("balance_carry_deadline", expiry=EveryYear(balance.expiry)))
    return " ".join(lines)


def _capital(label: str) -> str:
    return f"{label[:1].upper()}{label[1:]}"


DISAGREEMENT = Decimal("0.5")  # days between the HR system's balance and ours before it is called out


def official_balance_text(official, rules, records: PersonalRecords, holidays: dict[date, str], balance, label: str,
                          place: str, words: Wording | None = None) -> tuple[str, dict]:
    """The HR system's balance is the figure the employee is told; ours, computed as of the same day, explains
    it, and a difference of more than half a day is said plainly."""
    computed = leave_balance(rules, records.employee, records.entitlements, records.leave, set(holidays),
                             official.as_of, label=label, location_name=place, year=balance.year)
    difference = official.balance - computed.available
    words = words or wording(None)
    text = words.say("official", label=_capital(label), year=balance.year, official=Days(official.balance),
                     as_of=official.as_of, arithmetic=computed.arithmetic(words),
                     working=computed.entitlement_working(words))
    if abs(difference) > DISAGREEMENT:
        text += " " + words.say("official_fewer" if difference > 0 else "official_more",
                                computed=Days(computed.available), difference=Days(abs(difference)))
    return text, {"official": float(official.balance), "official_as_of": official.as_of.isoformat(),
                  "computed_at_official_date": float(computed.available),
                  "disagrees": abs(difference) > DISAGREEMENT}


def naming(employment_type: str) -> re.Pattern:
    """How a policy sentence names an employment type: "contractor" as contractor(s), "fixed_term" as fixed-term
    or fixed term."""
    words = [re.escape(w) for w in employment_type.lower().split("_") if w]
    return re.compile(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b", re.I)


def not_covered_by(facts: list[Document]) -> re.Pattern | None:
    """When the asker's facts say they are not covered by a leave type's rules: the words naming their
    employment type, so the quote is the policy's sentence about people like them (the one that leaves
    contractors out), not the rule for those it covers."""
    for fact in facts:
        if fact.metadata.get("covered") is False and fact.metadata.get("employment_type"):
            return naming(fact.metadata["employment_type"])
    return None


def holidays_for(records: PersonalRecords, location: Location, today: date,
                 profile: CompanyProfile | None = None, language: str | None = None) -> dict[date, str]:
    """Public holidays at the employee's location (the holidays library, per the profile, named in `language`
    where it can), the company's closure days (the profile) and its own days off from the holidays import, which
    win on the same date."""
    return holidays_in(records, location, profile, [today.year - 1, today.year, today.year + 1], language)


def _leave_and_holidays(records: PersonalRecords, today: date, holidays: dict[date, str],
                        place: str, words: Wording, profile: CompanyProfile) -> list[Document]:
    docs = []

    def name(code: str) -> str:  # the leave type as the answer's language names it, not its code
        return profile.label(code, words.code)

    upcoming = [r for r in records.leave if r.end_date >= today and r.status in ("approved", "pending")]
    recent = [r for r in records.leave if r.end_date < today and r.status == "approved"][-3:]
    if upcoming:
        docs.append(Document(page_content=words.say("upcoming", items=Joined(tuple(
            Said.of("upcoming_item", leave_type=name(r.leave_type), start=r.start_date, end=r.end_date, days=Days(r.days),
                    status=Said(f"status_{r.status}")) for r in upcoming[:5]))), metadata={"kind": "leave"}))
    if recent:
        docs.append(Document(page_content=words.say("recent", items=Joined(tuple(
            Said.of("recent_item", leave_type=name(r.leave_type), start=r.start_date, end=r.end_date, days=Days(r.days))
            for r in recent))), metadata={"kind": "leave"}))
    coming = [(d, n) for d, n in sorted(holidays.items()) if d >= today][:3]
    if coming:
        docs.append(Document(page_content=words.say("next_holidays", place=place, items=Joined(tuple(
            Said.of("holiday_item", name=n, day=words.weekday(d)) for d, n in coming))),
            metadata={"kind": "holidays"}))
    return docs


def select_facts(question: str, docs: list[Document], profile: CompanyProfile) -> list[Document]:
    """The facts a question is about (none when it names no topic they cover, e.g. sick pay), in any of the
    company's languages (their language packs name the topics). A balance is chosen by the leave type the
    question names; a question about leave in general gets the first one."""
    wanted = profile.topics_of(question)
    balances = [d for d in docs if d.metadata.get("kind") == "balance"]
    taken = [d for d in docs if d.metadata.get("kind") == "taken"]  # types with no allowance: only when named
    named = [d for d in balances + taken
             if d.metadata.get("leave_type") and question_names(question, d.metadata["leave_type"], profile)]
    chosen = named or (balances[:1] if "balance" in wanted else [])
    return [d for d in docs if (d in chosen) or (d.metadata.get("kind") in wanted - {"balance"})]


class RecordsRetriever(BaseRetriever):
    """LangChain retriever over one asker's records only: the records were loaded under row-level security."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    records: PersonalRecords | None
    today: date
    profile: CompanyProfile
    language: Language | None = None   # the asker's: the facts are written in it (English when None)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        if self.records is None or not (self.profile.is_personal(query) or asks_to_plan(query, self.profile)):
            return []
        # a plan ("if I take 22 December to 2 January off...") comes first: it is what the question is about
        plan = plan_facts(self.records, query, self.today, self.profile, self.language)
        return plan + select_facts(query, personal_facts(self.records, self.today, self.profile, self.language),
                                   self.profile)
