"""The company profile as objects: the company, its locations, its leave types and the leave rules per place.

Nothing here knows any particular company: a profile file (knowledge/sample/profile.toml for the sample company)
is read by knowledge.profile.load, which validates it completely before any of these objects exist.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path

from knowledge.profile.dates import day_month
from knowledge.profile.days_off import Blackout, Day, closure_days
from knowledge.profile.language import Language, detect, shipped_pack
from knowledge.profile.reminders import ReminderSettings
from knowledge.profile.wording import Wording, wording

PRO_RATA = ("months", "calendar_days", "none")
ROUNDING = ("up_half", "nearest_half", "up_whole", "nearest_whole", "none")
ACCRUAL_PERIODS = ("month", "half_month", "two_weeks", "week")
EMPLOYMENT_TYPES = ("permanent", "fixed_term", "contractor")  # what the employees import accepts
EXAMPLES = ("How much annual leave do I have?", "Does our dental plan cover implants?",
            "How do I claim expenses for a client dinner?", "Can I work from abroad for a few weeks?")


@dataclass(frozen=True)
class LongServiceStep:
    after_years: int   # full years of service completed by the start of the leave year
    days: Decimal      # the full-time allowance from then on


@dataclass(frozen=True)
class CarryOver:
    max_days: Decimal | None = None          # None: whatever the HR system carried over
    expires: tuple[int, int] | None = None   # (month, day) in the new leave year; None: never


@dataclass(frozen=True)
class Accrual:
    every: str                     # month | half_month | two_weeks | week
    days: Decimal                  # full-time days earned per completed period
    max_days: Decimal | None = None  # most that can be earned in one leave year


@dataclass(frozen=True)
class LeaveRules:
    """How one leave type works at one location (optionally for one employment type or department)."""
    leave_type: str
    year_start: tuple[int, int] | None = (1, 1)  # (month, day); None: each employee's hire anniversary
    base_days: Decimal | None = None             # full-time yearly allowance (a yearly grant)
    long_service: tuple[LongServiceStep, ...] = ()
    pro_rata: str = "months"                     # for joiners and leavers; part-time always scales by FTE
    cutoff_day: int = 15                         # months: joining on/before it (leaving on/after it) counts
    rounding: str = "none"
    carry_over: CarryOver = field(default_factory=CarryOver)
    accrual: Accrual | None = None               # instead of a yearly grant (US-style PTO)
    unlimited: bool = False                      # no balance: the policy applies, days taken are shown
    eligible: bool = True                        # False: not covered (e.g. contractors)
    blackout: tuple[Blackout, ...] = ()          # periods when leave is normally not approved (planning warns)

    def describe(self, label: str) -> str:
        """The rules in words, as `hrbot profile check` prints them."""
        if not self.eligible:
            return f"{label}: not covered"
        year = ("the hire anniversary" if self.year_start is None
                else day_month(date(2001, *self.year_start)))
        if self.unlimited:
            return f"{label}: unlimited (no balance; days taken are shown); leave year from {year}"
        if self.accrual:
            a = self.accrual
            grant = f"accrues {_fmt(a.days)} days per {a.every.replace('_', ' ')}"
            if a.max_days is not None:
                grant += f" (at most {_fmt(a.max_days)} a year)"
        else:
            grant = f"{_fmt(self.base_days)} days a year (full-time)"
            for step in self.long_service:
                grant += f", {_fmt(step.days)} after {step.after_years} years"
            grant += {"months": f", pro rata by month (a month counts from the {_ordinal(self.cutoff_day)})",
                      "calendar_days": ", pro rata by calendar day", "none": ", not pro-rated"}[self.pro_rata]
        rounding = {"up_half": "rounded up to half days", "nearest_half": "rounded to the nearest half day",
                    "up_whole": "rounded up to whole days", "nearest_whole": "rounded to whole days",
                    "none": "not rounded"}[self.rounding]
        carry = self.carry_over
        if carry.max_days == 0:
            carried = "no carry-over"
        elif carry.max_days is None and carry.expires is None:
            carried = "carry-over as the HR system reports it"
        else:
            carried = "carry-over " + (f"up to {_fmt(carry.max_days)} days" if carry.max_days is not None
                                       else "uncapped")
            if carry.expires:
                carried += f", used by {day_month(date(2001, *carry.expires))}"
        return f"{label}: {grant}, {rounding}; leave year from {year}; {carried}"


@dataclass(frozen=True)
class Override:
    """Rules that differ for one employment type or department at a location (only the keys it sets)."""
    employment_type: str | None
    department: str | None
    changes: dict  # LeaveRules field -> value

    def applies(self, employee) -> bool:
        return ((self.employment_type is None or employee.employment_type == self.employment_type)
                and (self.department is None or (employee.department or "").lower() == self.department.lower()))


@dataclass(frozen=True)
class Location:
    code: str                        # as in the employees file's `country` column: FR, US-CA, IN-KA...
    name: str                        # shown to people ("France", "California")
    aliases: tuple[str, ...] = ()    # how questions and document headings name it
    holidays_country: str | None = None      # public holidays from the `holidays` library
    holidays_subdivision: str | None = None
    leave: dict[str, LeaveRules] = field(default_factory=dict)             # leave type -> rules
    overrides: dict[str, tuple[Override, ...]] = field(default_factory=dict)  # leave type -> overrides

    def rules_for(self, leave_type: str, employee) -> LeaveRules | None:
        rules = self.leave.get(leave_type)
        if rules is None:
            return None
        for override in self.overrides.get(leave_type, ()):  # employment type first, then department
            if override.applies(employee):
                rules = replace(rules, **override.changes)
        return rules

    @cached_property
    def pattern(self) -> re.Pattern:
        """Matches the location's name, code or aliases as whole words."""
        words = sorted({self.name, *self.aliases} | ({self.code} if len(self.code) > 2 else set()),
                       key=len, reverse=True)
        return re.compile(r"(?<![\w.])(" + "|".join(re.escape(w) for w in words) + r")(?![\w])", re.I)

    def public_holidays(self, years: list[int], language: str | None = None) -> dict[date, str]:
        """The location's public holidays from the holidays library, named in `language` (an ISO 639-1 code) where
        the library has that localisation for the country, else by its default names."""
        if not self.holidays_country:
            return {}
        import holidays

        found = holidays.country_holidays(self.holidays_country, subdiv=self.holidays_subdivision,
                                          years=years, language=_localisation(found_languages(
                                              self.holidays_country), language))
        return {day: name for day, name in found.items()}

    def easter(self, year: int) -> date:
        """Easter Sunday as the location's holidays count it (the holidays library: Orthodox churches' Easter
        where the country keeps it), for "the week after Easter"; the Western date where no country is set."""
        if self.holidays_country:
            import holidays

            found = holidays.country_holidays(self.holidays_country, subdiv=self.holidays_subdivision, years=year)
            sunday = getattr(found, "_easter_sunday", None)  # set by the library's Christian holidays group
            if isinstance(sunday, date) and sunday.year == year:
                return sunday
        from dateutil.easter import easter

        return easter(year)


@dataclass(frozen=True)
class CompanyProfile:
    name: str
    hr_contact: str
    escalation_channel: str | None
    leave_types: dict[str, str]          # code -> label ("annual" -> "annual leave")
    locations: dict[str, Location]       # code -> location
    not_names: frozenset[str] = frozenset()  # capitalised words in questions that are not people
    demo_user: str | None = None         # the Slack user `hrbot demo` chats as
    source: Path | None = None
    examples: tuple[str, ...] = EXAMPLES  # questions offered in help, App Home and the assistant panel
    # The languages employees ask in (language packs); the first is the company's default
    languages: tuple[Language, ...] = field(default_factory=lambda: (shipped_pack("en"),))
    closures: tuple[Day, ...] = ()       # company-wide closure days: no leave is needed on them
    reminders: ReminderSettings = field(default_factory=ReminderSettings)  # [reminders]: off unless turned on
    # The leave types the team view names to a manager; any other is shown as "off" (sick leave is health data)
    team_view_types: frozenset[str] = frozenset()
    leave_type_names: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> code -> name
    hr_contact_in: dict[str, str] = field(default_factory=dict)  # language -> hr_contact in it
    leave_type_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # code -> other words for it

    def closure_days(self, years: list[int]) -> dict[date, str]:
        return closure_days(self.closures, years)

    def location(self, code: str | None) -> Location | None:
        return self.locations.get((code or "").upper()) if code else None

    def contact(self, language: str | None, given: str) -> str:
        """How to reach HR in `language` ([company.hr_contact_in]); `given` (the settings' hr_contact) as it is
        where that has none, or where HRBOT_HR_CONTACT replaced the profile's."""
        return self.hr_contact_in.get(language or "", given) if given == self.hr_contact else given

    def contact_for(self, question: str, given: str) -> str:
        """The HR contact in the question's language."""
        return self.contact(self.language_of(question).code, given)

    def names_of(self, leave_type: str) -> list[str]:
        """Every name a question may use for the leave type: its label in each language, then its aliases."""
        labels = [self.label(leave_type, x.code) for x in self.languages]
        return list(dict.fromkeys([*labels, *self.leave_type_aliases.get(leave_type, ())]))

    def label(self, leave_type: str, language: str | None = None) -> str:
        """The leave type's name, in `language` where [leave_type_names] gives one (knowledge/profile/names.py)."""
        named = self.leave_type_names.get(language or "", {}).get(leave_type)
        return named or self.leave_types.get(leave_type, leave_type.replace("_", " "))

    def mentioned(self, text: str) -> set[str]:
        """The codes of the locations a text names (a question, a document heading)."""
        return {code for code, loc in self.locations.items() if loc.pattern.search(text or "")}

    def audiences(self) -> list[tuple[str, str]]:
        """(label, value) for the audience menu: everyone, then each location."""
        return [("Everyone", "all")] + [(f"{loc.name} only", code) for code, loc in self.locations.items()]

    def audience_label(self, value: str | None) -> str:
        loc = self.location(value) if value and value != "all" else None
        return f"{loc.name} employees" if loc else "everyone"

    def language_of(self, text: str) -> Language:
        """The configured language a text is in (the default one when it shows none)."""
        return detect(text, self.languages, default=self.languages[0])

    def language_for_locale(self, locale: str | None) -> Language:
        """The company's language a Slack locale ("de-DE") asks for, else its first: what a message that answers
        no question (a reminder, the App Home) is written in."""
        wanted = str(locale or "").replace("_", "-").split("-")[0].strip().lower()
        return next((x for x in self.languages if x.code.lower() == wanted), self.languages[0])

    def wording_of(self, text: str) -> Wording:
        """How the asker's facts are written in the text's language (knowledge.profile.wording)."""
        return wording(self.language_of(text))

    @cached_property
    def generic_leave_words(self) -> frozenset[str]:
        """Words of leave types' names that name none of them, in any of the company's languages (and English,
        which the profile's own names are often in)."""
        return frozenset().union(*(x.generic for x in (*self.languages, shipped_pack("en"))))

    @cached_property
    def addressed(self) -> re.Pattern:
        """The words an answer addresses the asker with, in any of the company's languages ("you", "Sie")."""
        words = [p.pattern for p in (x.addressed for x in (*self.languages, shipped_pack("en"))) if p is not None]
        return re.compile("|".join(words), re.IGNORECASE)

    def is_personal(self, question: str) -> bool:
        """Does the question ask about the asker's own situation, in any of the company's languages?"""
        return any(language.is_personal(question) for language in self.languages)

    def topics_of(self, question: str) -> set[str]:
        """Which kinds of the asker's own facts the question is about (balance, leave, holidays, profile)."""
        return set().union(*(language.topics_of(question) for language in self.languages))

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Words of the company's own names (company, locations, aliases, not_names), lower case."""
        words = {self.name, *self.not_names}
        for loc in self.locations.values():
            words |= {loc.code, loc.name, *loc.aliases}
        return frozenset(w.lower() for phrase in words for w in re.findall(r"[\w']+", phrase))


@lru_cache(maxsize=None)
def found_languages(country: str) -> tuple[str, ...]:
    """The localisations the holidays library has for a country ("de", "en_US", ...)."""
    import holidays

    return tuple(holidays.country_holidays(country).supported_languages)


def _localisation(supported: tuple[str, ...], language: str | None) -> str | None:
    """The library's localisation for a language code: itself, else its first regional form (en -> en_US)."""
    if not language:
        return None
    return next((x for x in supported if x == language), None) or next(
        (x for x in supported if x.startswith(language + "_")), None)


def _fmt(value) -> str:
    return f"{Decimal(value).normalize():f}"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
