"""Reading a period of leave out of a question ("22 December to 2 January", "22.12.-2.1.", "next week", "the
week after Easter", "from Monday for 3 days") with the words and date formats of a language pack's [dates]
table (compiled in knowledge/profile/date_words.py). Nothing is guessed: a period the words and formats cannot
read is None, and the caller asks for the dates. No language is special in code; every word comes from the pack
(knowledge/profile/languages/*.toml).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

from knowledge.profile.date_words import DateWords


@dataclass(frozen=True)
class Period:
    """A period read from a question: start and end (inclusive), or start and a count of working days (the end
    then depends on the asker's holidays, so the planner finds it)."""
    start: date
    end: date | None
    working_days: int | None = None
    open: bool = False  # "from 10 December" with no end or count: where it starts, not how long (end = start)
    month: bool = field(default=False, compare=False)  # a month named alone ("in February"): which days, unsaid


# --- reading a question ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    day: int
    month: int
    year: int | None


def read_period(text: str, words: DateWords, today: date, easter: Callable[[int], date],
                past: bool = False) -> Period | None:
    """The period a question names, or None. easter(year): Easter Sunday at the asker's location. A date without
    a year is the next one as of today, or with past (a question about what has been: "who was off from 1 October
    to 31 October?") the most recent one that has begun."""
    found = _dates(text, words)
    if found is None:
        return None  # a day its month does not have ("31 February"): asked about, never planned without it
    counted = words.count.search(text) if words.count else None
    if len(found) > 2:
        return None  # two periods, or a list of days: one period at a time, asked for, never the first one alone
    if len(found) == 2 and _joined(text[found[0].end:found[1].start].strip(), text[:found[0].start], words):
        return _range(found[0], found[1], today, past)
    bare = _bare_day_range(text, found, words)
    if bare is not None:  # "22 to 29 December"; "the 10th and 11th of December" is two days: asked about
        return _range(bare, found[0], today, past) if len(found) == 1 and bare.year != LISTED else None
    if len(found) == 2:
        return None  # two dates that are not a range ("22 December and 5 January"): which days is not clear
    start = (_recent(found[0], today) if past else _resolve(found[0], today)) if found \
        else _weekday_start(text, words, today, counted)
    if start is not None and counted:
        return _counted(start, counted, words)
    if counted or (not found and words.amount and words.amount.search(text)):
        return None  # "5 days in February", "3 days next week": how many is said, which days are not
    if found:
        before = text[:found[0].start]
        if start is not None and words.week_of and re.search(rf"(?:{words.week_of.pattern})\s*(?:\w{{1,4}}\s+)?$",
                                                             before, re.I):
            monday = start - timedelta(days=start.weekday())  # "the week of 14 December"
            return Period(monday, monday + timedelta(days=4))
        opened = bool(words.start and re.search(rf"(?:{words.start.pattern})\s*$", before, re.I))
        return Period(start, start, open=opened) if start is not None else None
    return _relative_week(text, words, today, easter) or _relative_month(text, words, today) \
        or _month_alone(text, words, today, past)


def _dates(text: str, words: DateWords) -> list[_Found] | None:
    """Every date the pack's formats find, longest first where they overlap, in the order they stand; None when a
    month written by name has no such day ("31 February": a number with a month's name is meant as a date) or a
    numeric date only reads the other way round ("12/22" where the pack writes the day first)."""
    hits, impossible = [], []
    for pattern in words.formats:
        for match in pattern.finditer(text):
            month = int(match.group("m")) if "m" in match.groupdict() and match.group("m") else None
            if month is None and "month" in match.groupdict():
                name = match.group("month").lower()
                month = next(n for n, spellings in enumerate(words.months, start=1) if name in spellings)
            year = int(match.group("y")) if "y" in match.groupdict() and match.group("y") else None
            if month and _valid(int(match.group("d")), month, year or 2000):
                hits.append(_Found(match.start(), match.end(), int(match.group("d")), month, year))
            elif month and ("month" in match.groupdict() or (12 < month <= 31 and 1 <= int(match.group("d")) <= 12)):
                impossible.append(match)  # "31 February"; "12/22", a month-first date in a day-first pack
    if any(all(m.start() >= h.end or m.end() <= h.start for h in hits) for m in impossible):
        return None
    chosen: list[_Found] = []
    for hit in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
        if all(hit.start >= c.end or hit.end <= c.start for c in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)


def _joined(between: str, before: str, words: DateWords) -> bool:
    """Do the words between two dates make them a range: "to", "bis", or "and" after "between"?"""
    if words.range.fullmatch(between):
        return True
    return bool(words.both and words.both.fullmatch(between) and words.between
                and re.search(rf"(?:{words.between.pattern})\s+(?:\w{{1,4}}\s+)?$", before + " ", re.I))


def _valid(day: int, month: int, year: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


LISTED = -1  # the year of a bare day joined by "and": two days, not a range


def _bare_day_range(text: str, found: list[_Found], words: DateWords) -> _Found | None:
    """"22 to 29 December", "22.-29.12.": a day number, a range word, then a whole date; a day number joined by
    "and" ("the 10th and 11th of December") comes back with the year LISTED (two days, not a range)."""
    if not found:
        return None
    before = text[:found[0].start]
    ordinal = f"(?:{words.ordinals})?" if words.ordinals else ""
    joins = words.range.pattern + (f"|{words.both.pattern}" if words.both else "")
    match = re.search(rf"(?<![\w.])(\d{{1,2}}){ordinal}\.?\s*({joins})\s*$", before, re.I)
    if not match or not 1 <= int(match.group(1)) <= 31:
        return None
    end = found[0]
    month = end.month if int(match.group(1)) <= end.day else end.month - 1 or 12
    listed = not _joined(match.group(2), before[:match.start()], words)
    return _Found(match.start(), match.end(), int(match.group(1)), month, LISTED if listed else None)


def _resolve(found: _Found, today: date, after: date | None = None) -> date | None:
    """A date without a year is the next one on or after `after` (today); None when there is none within a year
    (29 February outside a leap year: the next one is years away, and moving it to the 28th would be a guess)."""
    after = after or today
    if found.year is not None:
        return date(found.year, found.month, found.day) if _valid(found.day, found.month, found.year) else None
    for year in (after.year, after.year + 1):
        if _valid(found.day, found.month, year) and date(year, found.month, found.day) >= after:
            return date(year, found.month, found.day)
    return None


def _recent(found: _Found, today: date) -> date | None:
    """A date without a year in a question about the past: the most recent one on or before today."""
    if found.year is not None:
        return _resolve(found, today)
    for year in (today.year, today.year - 1):
        if _valid(found.day, found.month, year) and date(year, found.month, found.day) <= today:
            return date(year, found.month, found.day)
    return None


# A range whose end comes before its start in the calendar runs over New Year ("22 December to 2 January"); one
# whose end is earlier in the same month, or that would then last longer than this, is read as written backwards
# ("14 December to 10 December") and asked about, not stretched over a year.
MAX_WRAPPED_DAYS = 183


def _range(first: _Found, second: _Found, today: date, past: bool = False) -> Period | None:
    if first.year is not None and second.year is not None:
        start, end = _resolve(first, today), _resolve(second, today)
        return Period(start, end) if start is not None and end is not None and end >= start else None
    if first.year is None and second.year is not None:
        end = _resolve(second, today)
        if end is None:
            return None
        for year in (end.year, end.year - 1):
            start = _resolve(_Found(0, 0, first.day, first.month, year), today)
            if start is not None and start <= end:
                return Period(start, end)
        return None
    wraps = (second.month, second.day) < (first.month, first.day)
    if wraps and first.month == second.month:
        return None
    start = _current(first, second, today) if second.year is None and not past else None
    start = start or (_recent(first, today) if past else _resolve(first, today))
    if start is None:
        return None
    end = _resolve(second, today, after=start)
    if end is None or end < start or (wraps and (end - start).days > MAX_WRAPPED_DAYS):
        return None
    return Period(start, end)


def _current(first: _Found, second: _Found, today: date) -> date | None:
    """The start of a yearless range that has begun but not ended ("1 to 11 December" on 3 December): this
    year's, not next year's."""
    if (second.month, second.day) < (first.month, first.day) or not _valid(first.day, first.month, today.year) \
            or not _valid(second.day, second.month, today.year):
        return None
    start, end = date(today.year, first.month, first.day), date(today.year, second.month, second.day)
    return start if start < today <= end else None


def _weekday_start(text: str, words: DateWords, today: date, counted) -> date | None:
    """"from Monday": the next such day after today (only with a count: a weekday alone names no period)."""
    if not counted or words.weekday is None:
        return None
    match = words.weekday.search(text)
    if match is None:
        return None
    wanted = next(n for n, spellings in enumerate(words.weekdays) if match.group().lower() in spellings)
    return today + timedelta(days=(wanted - today.weekday() - 1) % 7 + 1)


def _counted(start: date, counted: re.Match, words: DateWords) -> Period | None:
    raw = counted.group(1).lower()
    n = int(raw) if raw.isdigit() else words.numbers.get(raw)
    if not n or n > 60:
        return None
    if counted.group(3):  # weeks: calendar weeks from the start
        return Period(start, start + timedelta(days=7 * n - 1))
    return Period(start, None, working_days=n)


def _relative_week(text: str, words: DateWords, today: date, easter: Callable[[int], date]) -> Period | None:
    """"next week", "this week", "last week", "the week after/before <feast>": Monday to Friday."""
    named = [(match, weeks) for pattern, weeks in ((words.week_after_next, 2), (words.next_week, 1),
                                                    (words.this_week, 0), (words.last_week, -1))
             if pattern and (match := pattern.search(text))]
    if named:
        match, weeks = named[0]
        joined = words.both and (re.search(rf"(?:{words.both.pattern})\s*$", text[:match.start()], re.I)
                                 or re.match(rf"\s*(?:{words.both.pattern})(?!\w)", text[match.end():], re.I))
        rest = text[:match.start()] + " " + text[match.end():]  # "the week after next" is one period
        if len(named) > 1 or joined or any(p and p.search(rest) for p in (words.week_after, words.week_before,
                                                                          words.following_week, words.weekday)):
            return None  # "next week and the week after", "diese und nächste Woche", "Monday next week": asked
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 * weeks)
        return Period(monday, monday + timedelta(days=4))
    for relation, pattern in (("after", words.week_after), ("before", words.week_before)):
        if pattern is None:
            continue
        for key, feast in words.feasts.items():
            match = re.search(pattern.pattern + r"\s+" + feast.pattern, text, re.I)
            if match is None:
                continue
            day = _feast_day(key, today, easter, int(match.group(1)) if match.group(1) else None)
            if relation == "after":
                monday = day + timedelta(days=7 - day.weekday())
            else:
                friday = day - timedelta(days=(day.weekday() - 4) % 7 or 7)
                monday = friday - timedelta(days=4)
            return Period(monday, monday + timedelta(days=4))
    return None


def _feast_day(key: str, today: date, easter: Callable[[int], date], year: int | None) -> date:
    """The feast's next day on or after today (or in the year named)."""
    for candidate in ([year] if year else [today.year, today.year + 1]):
        day = easter(candidate) if key == "easter" else date(candidate, int(key[:2]), int(key[3:]))
        if year or day >= today:
            return day
    return day


YEARS_AROUND = 10  # a number after "in" this far from today's year is read as a year


def read_day(text: str, words: DateWords, today: date, easter: Callable[[int], date]) -> date | None:
    """The day a question asks about, or None: the start of the period it names ("from 1 April", "next week"),
    else the first day of the year it names ("next year", "in 2027"; the current year is today)."""
    period = read_period(text, words, today, easter)
    if period is not None:
        return period.start
    if words.next_year is not None and words.next_year.search(text):
        return date(today.year + 1, 1, 1)
    found = words.in_year.search(text) if words.in_year is not None else None
    year = int(found.group(1)) if found is not None else None
    if year is None or abs(year - today.year) > YEARS_AROUND:  # "in 2000 euros" names no year
        return None
    return today if year == today.year else date(year, 1, 1)


def _relative_month(text: str, words: DateWords, today: date) -> Period | None:
    """"this month", "next month", "last month": the whole calendar month (earlier days of this one included)."""
    for pattern, months in ((words.next_month, 1), (words.this_month, 0), (words.last_month, -1)):
        if pattern and pattern.search(text):
            return _whole_month(today.year * 12 + today.month - 1 + months)
    return None


def _whole_month(index: int) -> Period:  # index: year * 12 + month - 1
    following = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return Period(date(index // 12, index % 12 + 1, 1), following - timedelta(days=1), month=True)


def _month_alone(text: str, words: DateWords, today: date, past: bool) -> Period | None:
    """"in January", "im Januar": that whole month; the current one if today is in it, else the next one (with
    past, the most recent one)."""
    match = words.month_alone.search(text) if words.month_alone else None
    if match is None:
        return None
    month = next(n for n, spellings in enumerate(words.months, start=1) if match.group(1).lower() in spellings)
    if match.group(2):
        year = int(match.group(2))
    elif month == today.month:
        year = today.year
    else:
        year = today.year + (month < today.month) if not past else today.year - (month > today.month)
    return _whole_month(year * 12 + month - 1)
