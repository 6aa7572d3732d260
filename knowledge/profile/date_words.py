"""A language pack's [dates] table, compiled: its date formats as patterns with named groups, its month and weekday
spellings, and the words of periods ("to", "next week", "the week after", "in January"). Reading a question with
them is knowledge/profile/periods.py."""
from __future__ import annotations

import re
from dataclasses import dataclass

FORMAT_TOKENS = re.compile(r"YYYY|MONTH|MM|DD|M|D")
DATE_KEYS = {"formats", "months", "weekdays", "ordinals", "range", "start", "for", "numbers", "days", "weeks",
             "next_week", "week_after", "week_before", "feasts", "next_year", "in_year", "this_week", "last_week",
             "in_month", "past", "this_month", "next_month", "last_month", "between", "and", "week_after_next",
             "following_week", "week_of"}


@dataclass(frozen=True)
class DateWords:
    """A language pack's [dates] table, compiled."""
    formats: tuple[re.Pattern, ...]
    months: tuple[tuple[str, ...], ...]      # 12 entries, each the spellings of that month
    weekdays: tuple[tuple[str, ...], ...]    # 7 entries, Monday first
    range: re.Pattern                        # between two dates: "to", "bis", "-"
    start: re.Pattern | None                 # before a start: "from", "ab"
    count: re.Pattern | None                 # "for 3 days", "für 2 Wochen"
    next_week: re.Pattern | None
    week_after: re.Pattern | None            # "the week after <feast>"
    week_before: re.Pattern | None
    feasts: dict[str, re.Pattern]            # "easter" or "MM-DD" -> its names
    numbers: dict[str, int]
    weekday: re.Pattern | None
    next_year: re.Pattern | None = None      # "next year", "nächstes Jahr"
    in_year: re.Pattern | None = None        # before a year: "in 2027", "ab 2027"
    this_week: re.Pattern | None = None
    last_week: re.Pattern | None = None
    month_alone: re.Pattern | None = None    # "in January", "im Januar 2027": group 1 the month, 2 the year
    past: re.Pattern | None = None           # "was off", "war": a question about what has been
    this_month: re.Pattern | None = None     # "this month", "diesen Monat": the calendar month, 1st to last day
    next_month: re.Pattern | None = None
    last_month: re.Pattern | None = None
    between: re.Pattern | None = None        # "between": makes "and" a range ("between 21 and 31 December")
    both: re.Pattern | None = None           # "and", "und": two days, not a range (unless after "between")
    ordinals: str = ""                       # "st|nd|rd|th": after a bare day number ("the 10th and 11th")
    amount: re.Pattern | None = None         # "3 days" without "for": how many, not which (asked about alone)
    week_after_next: re.Pattern | None = None  # "the week after next", "übernächste Woche"
    following_week: re.Pattern | None = None   # "the following week", "die Woche danach": a second week
    week_of: re.Pattern | None = None        # "the week of 14 December": Monday to Friday of that week

    def in_past(self, text: str) -> bool:
        """Is the question in the past tense ("who was off in October?"), by the pack's `past` words?"""
        return bool(self.past and self.past.search(text))


class DateWordsError(ValueError):
    pass


def _words(pattern_words, whole: bool = True) -> str:
    words = sorted({w.strip().lower() for w in pattern_words if w and w.strip()}, key=len, reverse=True)
    body = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
    return rf"(?<![\w])(?:{body})(?![\w])" if whole else f"(?:{body})"


def _spellings(value, where: str, count: int) -> tuple[tuple[str, ...], ...]:
    """["january|jan", ...] or [["january", "jan"], ...] -> the spellings of each of `count` entries."""
    if not isinstance(value, list) or len(value) != count:
        raise DateWordsError(f"dates.{where} must list {count} entries")
    entries = []
    for item in value:
        spellings = item.split("|") if isinstance(item, str) else item
        if not isinstance(spellings, list) or not all(isinstance(s, str) and s.strip() for s in spellings):
            raise DateWordsError(f"dates.{where}: each entry is a text (spellings separated by |) or a list")
        entries.append(tuple(s.strip().lower() for s in spellings))
    return tuple(entries)


def _list(data: dict, key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DateWordsError(f"dates.{key} must be a list of texts")
    return value


def parse_date_words(data: dict) -> DateWords:
    """The pack's [dates] table; raises DateWordsError naming the key that is wrong."""
    unknown = set(data) - DATE_KEYS
    if unknown:
        raise DateWordsError(f"dates.{sorted(unknown)[0]} is not a known key ({', '.join(sorted(DATE_KEYS))})")
    months = _spellings(data.get("months"), "months", 12)
    weekdays = _spellings(data.get("weekdays"), "weekdays", 7)
    ordinals = _list(data, "ordinals")
    month_names = _words([s for m in months for s in m], whole=False)
    formats = tuple(_format(f, month_names, ordinals) for f in _list(data, "formats"))
    if not formats or not _list(data, "range"):
        raise DateWordsError("dates.formats and dates.range must each list at least one entry")
    numbers = {}
    for n, spellings in enumerate(_spellings(data["numbers"], "numbers", len(data["numbers"])) if "numbers" in data
                                  else (), start=1):
        numbers.update({s: n for s in spellings})
    feasts = data.get("feasts", {})
    if not isinstance(feasts, dict) or not all(k == "easter" or re.fullmatch(r"\d{2}-\d{2}", k) for k in feasts):
        raise DateWordsError('dates.feasts maps "easter" or "MM-DD" to the names of that day')

    def optional(key: str) -> re.Pattern | None:
        words = _list(data, key)
        return re.compile(_words(words), re.I) if words else None

    number = r"(\d{1,2}" + (("|" + _words(numbers, whole=False)) if numbers else "") + ")"
    count = amount = None
    if _list(data, "days"):
        units = rf"(?:({_words(_list(data, 'days'), whole=False)})|({_words(_list(data, 'weeks'), whole=False)}))" \
            if _list(data, "weeks") else rf"({_words(_list(data, 'days'), whole=False)})()"
        amount = re.compile(rf"(?<![\w.,]){number}\s+{units}(?![\w])", re.I)
        if _list(data, "for"):
            count = re.compile(rf"{_words(_list(data, 'for'))}\s+{number}\s+{units}(?![\w])", re.I)
    return DateWords(
        formats=formats, months=months, weekdays=weekdays,
        range=re.compile(_words(_list(data, "range"), whole=False), re.I),
        start=optional("start"), count=count, next_week=optional("next_week"), week_after=optional("week_after"),
        week_before=optional("week_before"), numbers=numbers,
        feasts={k: re.compile(_words(v) + r"(?:\s+(\d{4}))?", re.I) for k, v in feasts.items()},
        weekday=re.compile(_words([s for d in weekdays for s in d]), re.I), next_year=optional("next_year"),
        in_year=re.compile(_words(_list(data, "in_year")) + r"\s+(\d{4})(?![\w])", re.I)
        if _list(data, "in_year") else None,
        this_week=optional("this_week"), last_week=optional("last_week"), past=optional("past"),
        this_month=optional("this_month"), next_month=optional("next_month"), last_month=optional("last_month"),
        month_alone=_month_pattern(_list(data, "in_month"), month_names), between=optional("between"),
        both=re.compile(_words(_list(data, "and"), whole=False), re.I) if _list(data, "and") else None,
        ordinals="|".join(map(re.escape, ordinals)), amount=amount, week_after_next=optional("week_after_next"),
        following_week=optional("following_week"), week_of=optional("week_of"))


def _month_pattern(before: list[str], month_names: str) -> re.Pattern | None:
    """"in January", "im Januar 2027": a word of dates.in_month, a month's name, perhaps a year."""
    if not before:
        return None
    return re.compile(rf"{_words(before)}\s+({month_names})\.?(?:\s+(\d{{4}}))?(?![\w])", re.I)


def _format(text: str, month_names: str, ordinals: list[str]) -> re.Pattern:
    """"D MONTH YYYY" -> a pattern with named groups d, m (number) or month (name), y."""
    ordinal = f"(?:{'|'.join(map(re.escape, ordinals))})?" if ordinals else ""
    parts, last = [], 0
    for token in FORMAT_TOKENS.finditer(text):
        parts.append(_literal(text[last:token.start()]))
        parts.append({"YYYY": r"(?P<y>\d{4})", "MONTH": rf"(?P<month>{month_names})\.?",
                      "MM": r"(?P<m>\d{1,2})", "M": r"(?P<m>\d{1,2})",
                      "DD": rf"(?P<d>\d{{1,2}}){ordinal}", "D": rf"(?P<d>\d{{1,2}}){ordinal}"}[token.group()])
        last = token.end()
    parts.append(_literal(text[last:]))
    return re.compile(r"(?<![\w.])" + "".join(parts) + r"(?![\w])", re.I)


def _literal(text: str) -> str:
    return "".join(r"\s*" if ch == " " else re.escape(ch) for ch in text)
