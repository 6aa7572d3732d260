"""How the asker's own facts are written in their language: the templates of a language pack's [facts] table and
the dates and numbers of its [display] table (knowledge/profile/languages/*.toml).

The facts are computed in code and only worded here, so a balance has the same figures in every language.
Nothing in code is in a language: English is the pack every other falls back to, template by template, so a
company pack that lacks a template still answers (in English for that line) and `hrbot profile check` names what
it lacks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from knowledge.profile.language import DISPLAY, FALLBACK, Language, shipped_pack


@dataclass(frozen=True)
class Said:
    """A phrase worded only when it is read: a [facts] template's key and its fields. Decimal fields are written as
    numbers, dates as days, EveryYear as a day of the year, nested Said in the same language."""
    key: str
    fields: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, key: str, **fields) -> "Said":
        return cls(key, tuple(fields.items()))

    def __str__(self) -> str:
        return wording(shipped_pack(FALLBACK)).text(self)


@dataclass(frozen=True)
class EveryYear:
    """A day in every year (a carry-over deadline): written without its year."""
    day: date


@dataclass(frozen=True)
class Days:
    """A number of days with its noun ("1 day", "3.2 days"; or working days with the working_days keys)."""
    value: object
    one: str = "days_one"
    many: str = "days_many"


@dataclass(frozen=True)
class Joined:
    """Phrases listed one after another ("a; b")."""
    items: tuple
    separator: str = "; "


class Wording:
    """One language's words for the facts, English where the pack has none."""

    def __init__(self, language: Language, fallback: Language):
        self.code = language.code
        self.templates = {**fallback.facts, **language.facts}
        display = {**fallback.display, **language.display}
        self.months, self.weekdays = display["months"], display["weekdays"]
        self.formats = {key: display[key] for key in DISPLAY}
        self.decimal = display["decimal"]
        self.missing = sorted(set(fallback.facts) - set(language.facts)) + sorted(
            set(fallback.display) - set(language.display))

    def say(self, key: str, **fields) -> str:
        return self.templates[key].format_map({name: self.value(v) for name, v in fields.items()})

    def text(self, phrase: "Said | str | None") -> str:
        if phrase is None:
            return ""
        return phrase if isinstance(phrase, str) else self.say(phrase.key, **dict(phrase.fields))

    def value(self, value) -> str:
        if isinstance(value, Said):
            return self.text(value)
        if isinstance(value, Days):
            return self.days(value.value, value.one, value.many)
        if isinstance(value, Joined):
            return value.separator.join(self.value(item) for item in value.items)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, (Decimal, float)):
            return self.number(value)
        if isinstance(value, datetime):
            return self.moment(value)
        if isinstance(value, date):
            return self.day(value)
        if hasattr(value, "written"):  # a leave year, which knows how it is written
            return value.written(self)
        if isinstance(value, EveryYear):
            return self.day_month(value.day)
        return str(value)

    def number(self, value) -> str:
        """17.5 as the language writes it (17,5 with a decimal comma); never a thousands separator, which the figure guard
        would read as a decimal."""
        return f"{Decimal(value).normalize():f}".replace(".", self.decimal)

    def days(self, value, one: str = "days_one", many: str = "days_many") -> str:
        """"1 day", "2.5 days": the plural by the number as written."""
        text = self.number(value)
        return self.templates[one if text == "1" else many].format(n=text)

    def day(self, value: date) -> str:
        return self.formats["day"].format(day=value.day, month=self.months[value.month - 1], year=value.year)

    def day_month(self, value: date) -> str:
        return self.formats["day_month"].format(day=value.day, month=self.months[value.month - 1])

    def weekday(self, value: date) -> str:
        return self.formats["weekday"].format(weekday=self.weekdays[value.weekday()], date=self.day(value))

    def moment(self, value: datetime) -> str:
        value = value.astimezone(timezone.utc)
        return self.formats["moment"].format(date=self.day(value), time=f"{value:%H:%M}")


_MADE: dict[int, tuple[Language, Wording]] = {}


def wording(language: Language | None = None) -> Wording:
    """The wording of a language (English when none is given), made once per pack (a pack holds dicts, so it is
    not hashable; it is kept beside its wording so its id is not reused)."""
    fallback = shipped_pack(FALLBACK)
    language = language or fallback
    made = _MADE.get(id(language))
    if made is None or made[0] is not language:
        made = _MADE[id(language)] = (language, Wording(language, fallback))
    return made[1]


def english() -> Wording:
    return wording(None)
