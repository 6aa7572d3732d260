"""Policy versions in answers: the day a question asks about ("from 1 April", "next year", "in 2027"; else today),
whose versions retrieval then searches, and the note saying which version an answer quotes (the one in force
from a date, or until its successor's date). The words come from the language packs; the day is read as leave
planning reads its periods (knowledge/profile/periods.py)."""
from __future__ import annotations

from datetime import date

from knowledge.answering.answers import Answer
from knowledge.profile.language import shipped_pack
from knowledge.profile.model import CompanyProfile
from knowledge.profile.periods import read_day


def asked_day(question: str, profile: CompanyProfile, country: str | None, today: date) -> date:
    """The day whose policies answer: the one the question names (its language's words first, then the company's
    other languages), else today. Easter is the asker's location's."""
    from dateutil.easter import easter as western_easter

    location = profile.location(country)
    easter = location.easter if location is not None else western_easter
    detected = profile.language_of(question)
    for language in (detected, *(x for x in profile.languages if x is not detected)):
        if language.dates is not None:
            found = read_day(question, language.dates, today, easter)
            if found is not None:
                return found
    return today


def note_versions(answer: Answer, question: str, sources, as_of: date, today: date,
                  profile: CompanyProfile) -> None:
    """Say which version of a cited document answers when its versions differ by date: one in force from a day
    after today, or from a day other than always, says from when; one a scheduled version will replace says until
    when. Documents without dated versions add nothing."""
    cited = {c.document_id for c in answer.citations}
    language = profile.language_of(question)
    english = shipped_pack("en")
    notes = []
    for doc in sources:
        m = doc.metadata
        if m.get("document_id") not in cited:
            continue
        source = m.get("title") or m.get("source")
        said = profile.wording_of(question)  # dates as the asker's language writes them ("1. April 2027")
        if m.get("effective_from") is not None:  # a dated version always says from when it is in force
            notes.append((language.version_from or english.version_from).format(
                source=source, day=said.day(m["effective_from"])))
        elif m.get("effective_until") is not None:
            notes.append((language.version_until or english.version_until).format(
                source=source, day=said.day(m["effective_until"])))
    notes = list(dict.fromkeys(notes))
    if notes:
        answer.text += "\n\n_" + " ".join(notes) + "_"
