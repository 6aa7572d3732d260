"""The asker's own facts as LangChain Documents: profile, computed balances with arithmetic, leave, holidays."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from knowledge.people.balances import annual_balance, fmt_days
from knowledge.people.records import PersonalRecords

PERSONAL = re.compile(
    r"\b(i|i'm|im|i've|ive|me|my|mine|myself)\b|\bam i\b|\bdo i\b|\bcan i\b|\bhow (much|many) .* (left|remaining)\b",
    re.I)


def is_personal(question: str) -> bool:
    """Does the question ask about the asker's own situation (so their facts belong in the answer)?"""
    return bool(PERSONAL.search(question))


def personal_facts(records: PersonalRecords, today: date) -> list[Document]:
    """Facts about one employee, each a Document with metadata kind=profile|balance|leave|holidays."""
    e = records.employee
    docs = []
    hours = "full-time" if e.fte == 1 else f"part-time ({Decimal(e.fte).normalize():f} FTE)"
    profile = (f"You are {e.name} ({e.employee_id}), {hours}, {e.employment_type.replace('_', ' ')}, "
               f"employed in {e.country} since {e.hire_date:%d %B %Y}")
    if e.department:
        profile += f", {e.department}"
    if e.end_date:
        profile += f"; your last day is {e.end_date:%d %B %Y}"
    docs.append(Document(page_content=profile + ".", metadata={"kind": "profile"}))

    if e.employment_type == "contractor":
        docs.append(Document(page_content="As a contractor you are not covered by the annual leave policy; your "
                                          "contract sets your time off.", metadata={"kind": "balance"}))
        return docs + _leave_and_holidays(records, today)
    entitlement = next((x for x in records.entitlements if x.leave_type == "annual" and x.year == today.year), None)
    balance = annual_balance(e, entitlement, records.leave, set(records.holidays), today)
    text = (f"Annual leave {balance.year}, as of {today:%d %B %Y}: {balance.arithmetic()}. "
            f"Entitlement: {balance.entitlement_working()}.")
    if balance.pending:
        text += f" Pending requests (not yet approved, not deducted): {fmt_days(balance.pending)}."
    if balance.carried and not balance.expired and today <= date(today.year, 3, 31):
        text += " Carried-over days must be used by 31 March."
    docs.append(Document(page_content=text, metadata={"kind": "balance", **balance.as_dict()}))

    for x in records.entitlements:
        if x.leave_type == "volunteering" and x.year == today.year:
            used = sum((r.days for r in records.leave if r.leave_type == "volunteering"
                        and r.status == "approved" and r.start_date.year == today.year), Decimal(0))
            total = (x.base_days or Decimal(0)) + x.carried_over
            docs.append(Document(
                page_content=f"Volunteering days {today.year}: {fmt_days(total)} - {fmt_days(used)} used = "
                             f"{fmt_days(total - used)} left.", metadata={"kind": "volunteering"}))
    return docs + _leave_and_holidays(records, today)


def _leave_and_holidays(records: PersonalRecords, today: date) -> list[Document]:
    docs = []
    e = records.employee
    upcoming = [r for r in records.leave if r.end_date >= today and r.status in ("approved", "pending")]
    recent = [r for r in records.leave if r.end_date < today and r.status == "approved"][-3:]
    lines = [f"{r.leave_type} {r.start_date:%d %b %Y} to {r.end_date:%d %b %Y}, {fmt_days(r.days)}, {r.status}"
             for r in upcoming[:5]]
    if lines:
        docs.append(Document(page_content="Upcoming leave: " + "; ".join(lines) + ".", metadata={"kind": "leave"}))
    if recent:
        docs.append(Document(page_content="Recent leave taken: " + "; ".join(
            f"{r.leave_type} {r.start_date:%d %b} to {r.end_date:%d %b %Y}, {fmt_days(r.days)}" for r in recent) + ".",
            metadata={"kind": "leave"}))
    coming = [(d, n) for d, n in sorted(records.holidays.items()) if d >= today][:3]
    if coming:
        docs.append(Document(page_content=f"Next public holidays in {e.country}: " + "; ".join(
            f"{n} ({d:%a %d %b %Y})" for d, n in coming) + ".", metadata={"kind": "holidays"}))
    return docs


TOPICS = {
    "balance": re.compile(r"annual|leave|holiday|vacation|vacaton|days? off|time off|allowance|balance|entitle|"
                          r"carr(y|ied)|left|remaining|pto", re.I),
    "volunteering": re.compile(r"volunteer|charity", re.I),
    "leave": re.compile(r"booked|upcoming|next|request|pending|approved|when (is|am)|taken|took|history|recent",
                        re.I),
    "holidays": re.compile(r"bank holiday|public holiday|next holiday|holidays? (this|next)", re.I),
    "profile": re.compile(r"contract|hire|hired|joined|start(ed)? date|fte|part[- ]time|full[- ]time|manager|"
                          r"department|who am i|my details|profile|last day", re.I),
}


def select_facts(question: str, docs: list[Document]) -> list[Document]:
    """The facts a question is about (none when it names no topic they cover, e.g. sick pay)."""
    wanted = {kind for kind, pattern in TOPICS.items() if pattern.search(question)}
    if "volunteering" in wanted and not re.search(r"annual|holiday|vacation", question, re.I):
        wanted.discard("balance")
    return [d for d in docs if d.metadata.get("kind") in wanted]


class RecordsRetriever(BaseRetriever):
    """LangChain retriever over one asker's records only: the records were loaded under row-level security."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    records: PersonalRecords | None
    today: date

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        if self.records is None or not is_personal(query):
            return []
        return select_facts(query, personal_facts(self.records, self.today))
