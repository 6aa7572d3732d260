"""Routing a manager's question about their team ("Who in my team is off next week?", "Wer aus meinem Team ist
nächste Woche im Urlaub?") to the team view. The "someone else" guard reads the question first without the words
naming the asker's own team (without_own_team), so a name or role beside them ("... and Alice's team?", "my
manager's team") is still refused.

The reply is computed in code from what the database function returns for the asker's binding (no chat model sees
it, so an instruction in the question cannot widen it); someone with no direct reports is told so, with no data.
A question that names a colleague without the language packs' team words ("is Alice off next week?") is not
routed here and stays refused.
"""
from __future__ import annotations

from datetime import date

from knowledge.answering.answers import Answer, Asker
from knowledge.people.records import PersonalRecords, RecordsReader
from knowledge.people.team import (TeamLeave, asks_about_others_team, asks_about_team, read_team,  # noqa: F401
                                   team_language, team_period, team_text, team_words,
                                   without_own_team)  # (chain.py's guard)
from knowledge.profile.model import CompanyProfile
from knowledge.settings import Settings


def team_reply(question: str, profile: CompanyProfile, reader: RecordsReader, personal: PersonalRecords | None,
               today: date, asker: Asker, operator: str | None, settings: Settings,
               for_channel: bool) -> tuple[Answer, Answer | None] | None:
    """(the asker's answer, the copy for a channel when asked for) for a team question; None for any other.
    The reader audited once per report is the asker, or the operator of `hrbot ask --as` (with the asker beside).
    Always personal: it goes to the asker alone; a channel gets the pack's `private` line."""
    if not asks_about_team(question, profile):
        return None
    words = team_words(profile, question)
    employee_id = personal.employee.employee_id if personal is not None else None
    if employee_id is None:  # no record, so no reports: nothing to read
        start, end = team_period(question, profile, None, today)
        team = TeamLeave(start, end, ())
    else:
        start, end = team_period(question, profile, personal.employee.country, today)
        actor = operator or asker.slack_user_id or asker.email or "unknown"
        team = read_team(reader, employee_id, start, end, actor, via="question", as_user=asker.slack_user_id)
    contact = profile.contact(team_language(profile, words), settings.hr_contact)
    answer = Answer(team_text(team, words, profile, contact), supported=True,
                    personal=True, kind="team", employee_id=employee_id)
    public = Answer(words.private, supported=True, kind="team") if for_channel else None
    return answer, public
