"""Reading a question in its conversation without a chat model: a real follow-up joins the previous question, a
new topic stands alone."""
from __future__ import annotations

import re

from knowledge.answering.answers import terms
from knowledge.profile.model import CompanyProfile

FOLLOW_UP = re.compile(r"^(and|but|also|what about|how about|what if|same|ok|so|then)\b", re.I)
REFERS_BACK = re.compile(r"\b(it|that|this|those|them|there|these)\b", re.I)
CONNECTORS = {"and", "but", "also", "about", "same", "ok", "so", "then", "else", "instead", "though", "please"}
# Words that narrow a question to a group or a time rather than opening a topic (stems, as terms() makes them).
QUALIFIERS = {"part", "time", "timer", "full", "contractor", "manager", "intern", "new", "starter", "joiner", "staff",
              "employee", "people", "person", "year", "next", "last", "week", "month", "someone", "everyone"}


def read_with_previous(question: str, history: list[tuple[str, str]], profile: CompanyProfile) -> str:
    """A question pointing back ("does it cover implants?") or a fragment that only changes the place or the group
    ("and in Spain?", "what about part-timers?") is read with the previous question; anything that brings a topic
    of its own ("and what about when I have a baby?") stands alone."""
    previous = next((text for role, text in reversed(history) if role == "user"), "")
    if not previous:
        return question
    if len(question.split()) <= 8 and REFERS_BACK.search(question):
        return f"{previous} {question}"
    if FOLLOW_UP.search(question):
        new = terms(question) - terms(previous) - CONNECTORS - QUALIFIERS - profile.vocabulary
        if not new:
            return moved(previous, question, profile) or f"{previous} {question}"
    return question


def moved(previous: str, question: str, profile: CompanyProfile) -> str | None:
    """"and in <another place>?" after a question about one place: the previous question, asked about the new one
    (searching for both places would find the old one's rules as readily as the new one's)."""
    now, before = profile.mentioned(question), profile.mentioned(previous)
    if not now or not before or now & before:
        return None
    place = profile.location(sorted(now)[0]).name
    for code in before:
        previous = profile.location(code).pattern.sub(place, previous)
    return previous
