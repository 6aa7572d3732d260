"""A manager's team view: their direct reports' approved and pending leave for a period, read through the
database function hrbot_team_leave() (infra/migrations/0024_team_leave.sql) in a transaction bound to the manager.

Which rows come back is decided in the database from the manager's binding, not here: this module only asks for a
period and writes the answer. The function audits one read per report, naming the manager.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from knowledge.people.planning import read_question, resolve
from knowledge.people.records import RecordsReader
from knowledge.profile.language import Language
from knowledge.profile.model import CompanyProfile
from knowledge.profile.team_words import TeamWords

TEAM_LEAVE = """
SELECT employee_id, name, request_id, leave_type, start_date, end_date, days, status
FROM hrbot_team_leave(%(start)s, %(end)s, %(actor)s, %(details)s::jsonb)"""
DEFAULT_DAYS = 28   # no period in the question (or the App Home): the next four weeks
MAX_DAYS = 366      # the function returns nothing for a longer period


@dataclass(frozen=True)
class ReportLeave:
    request_id: str
    leave_type: str
    start: date
    end: date
    days: Decimal
    status: str     # approved | pending (the function never returns cancelled or rejected requests)


@dataclass(frozen=True)
class Report:
    employee_id: str
    name: str
    leave: tuple[ReportLeave, ...]


@dataclass(frozen=True)
class TeamLeave:
    start: date
    end: date
    reports: tuple[Report, ...]

    @property
    def off(self) -> tuple[Report, ...]:
        return tuple(r for r in self.reports if r.leave)


def read_team(reader: RecordsReader, manager_id: str, start: date, end: date, actor: str,
              **details) -> TeamLeave:
    """The manager's direct reports and their leave overlapping start..end. actor and details go to the audit
    rows (who is reading, from where); the reports are whatever the database lets this binding see."""
    with reader.bound(manager_id) as conn:
        rows = conn.execute(TEAM_LEAVE, {"start": start, "end": end, "actor": actor,
                                         "details": json.dumps(details, default=str)}).fetchall()
    reports: dict[str, Report] = {}
    for employee_id, name, request_id, leave_type, first, last, days, status in rows:
        report = reports.setdefault(employee_id, Report(employee_id, name, ()))
        if request_id is not None:
            leave = ReportLeave(request_id, leave_type, first, last, days, status)
            reports[employee_id] = Report(employee_id, name, report.leave + (leave,))
    return TeamLeave(start, end, tuple(reports.values()))


def team_words(profile: CompanyProfile, question: str | None = None,
               language: Language | None = None) -> TeamWords | None:
    """The [team] words of the question's language (or of `language`), else of the first of the company's
    languages that has them."""
    first = language or (profile.language_of(question) if question else profile.languages[0])
    for language in (first, *(x for x in profile.languages if x is not first)):
        if language.team is not None:
            return language.team
    return None


def team_language(profile: CompanyProfile, words: TeamWords) -> str | None:
    """The code of the company's language whose [team] words these are."""
    return next((x.code for x in profile.languages if x.team is words), None)


def asks_about_team(question: str, profile: CompanyProfile) -> bool:
    """Is this a manager's question about their team's leave, in any of the company's languages?"""
    return any(language.team is not None and language.team.asks(question) for language in profile.languages)


def asks_about_others_team(question: str, profile: CompanyProfile) -> bool:
    """Does the question ask about someone else's team ("my manager's team", "Alice's team")? Refused."""
    return any(language.team is not None and language.team.asks_about_others_team(question)
               for language in profile.languages)


def without_own_team(question: str, profile: CompanyProfile) -> str:
    """What the "someone else" guard reads: a team question without the words naming the asker's own team, so
    "my team" is nobody else while a name or a role beside it still is; any other question as it is."""
    if not asks_about_team(question, profile):
        return question
    for language in profile.languages:
        if language.team is not None:
            question = language.team.without_own_team(question)
    return question


def team_period(question: str | None, profile: CompanyProfile, country: str | None,
                today: date) -> tuple[date, date]:
    """The period the question names (read as leave planning reads it; in the past tense, "who was off from 1
    October to 31 October?", a yearless period is the most recent one), else the next DEFAULT_DAYS days; at most
    MAX_DAYS long."""
    past = question is not None and any(x.dates is not None and x.dates.in_past(question) for x in profile.languages)
    period = read_question(question, profile, profile.location(country), today, past=past) if question else None
    if period is None:
        return today, today + timedelta(days=DEFAULT_DAYS - 1)
    if period.open:  # "who is off from 10 December?": the default span from that day
        return period.start, period.start + timedelta(days=DEFAULT_DAYS - 1)
    start, end = resolve(period, set())
    return start, min(end, start + timedelta(days=MAX_DAYS - 1))


def team_lines(team: TeamLeave, words: TeamWords, profile: CompanyProfile, everyone: bool = False) -> list[str]:
    """One line per request (and, with everyone, a line for each report with none), in the pack's words. A leave
    type the profile does not name to managers (team_view_types: sick leave is health data) is only "off"."""
    lines = []
    code = team_language(profile, words)  # the leave types named in it
    for report in team.reports:
        for leave in report.leave:
            one_day = Decimal(leave.days) == 1 and words.line_one_day
            named = leave.leave_type in profile.team_view_types
            lines.append((words.line_one_day if one_day else words.line).format(
                name=report.name, leave=profile.label(leave.leave_type, code) if named else words.off,
                start=words.day(leave.start), end=words.day(leave.end), days=f"{Decimal(leave.days).normalize():f}",
                status=words.status(leave.status)))
        if everyone and not report.leave:
            lines.append(words.free.format(name=report.name))
    return lines


def team_text(team: TeamLeave, words: TeamWords, profile: CompanyProfile, hr_contact: str) -> str:
    """The answer to a manager's question: who is off in the period, or that nobody is, or that they have no
    direct reports in the records."""
    period = {"start": words.day(team.start), "end": words.day(team.end)}
    if not team.reports:
        return words.no_reports.format(hr_contact=hr_contact)
    if not team.off:
        return words.nobody_off.format(**period)
    return "\n".join([words.heading.format(**period), *(f"- {line}" for line in team_lines(team, words, profile))])
