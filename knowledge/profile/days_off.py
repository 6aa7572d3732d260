"""Days the profile names for leave planning: company closure days (`company.closures`: the office is shut, so
no leave is needed then) and blackout periods of a leave type (`blackout` in the leave rules: leave then is
normally not approved). Each day is "MM-DD" (every year) or "YYYY-MM-DD" (once)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

DAY = re.compile(r"^(?:(\d{4})-)?(\d{2})-(\d{2})$")
Day = date | tuple[int, int]  # a date once, or (month, day) every year


def _md(value: Day) -> tuple[int, int]:
    return (value.month, value.day) if isinstance(value, date) else value


@dataclass(frozen=True)
class Blackout:
    start: Day
    end: Day
    reason: str = ""

    def covers(self, day: date) -> bool:
        if isinstance(self.start, date) and isinstance(self.end, date):
            return self.start <= day <= self.end
        md, start, end = (day.month, day.day), _md(self.start), _md(self.end)
        return start <= md <= end if start <= end else (md >= start or md <= end)  # "12-20" to "01-05" wraps

    def describe(self) -> str:
        def said(value: Day) -> str:
            return f"{value.day} {value:%B %Y}" if isinstance(value, date) else \
                f"{value[1]} {date(2001, value[0], 1):%B}"
        return f"{said(self.start)} to {said(self.end)}" + (f" ({self.reason})" if self.reason else "")


MAX_WRAPPED_DAYS = 183  # a yearly blackout over New Year longer than half a year is taken as written backwards


def _wrapped_days(start: tuple[int, int], end: tuple[int, int]) -> int:
    if start <= end:
        return 0
    return (date(2002, *end) - date(2001, *start)).days + 1 if end != (2, 29) else 0


def closure_days(closures: tuple[Day, ...], years: list[int]) -> dict[date, str]:
    """The company's closure days in these years."""
    found = {}
    for value in closures:
        for year in ([value.year] if isinstance(value, date) else years):
            try:
                found[date(year, *_md(value))] = "company closure"
            except ValueError:  # 29 February in another year
                continue
    return found


def read_day(value, fail, path: tuple) -> Day | None:
    match = DAY.match(value) if isinstance(value, str) else None
    if match:
        year, month, day = (int(g) if g else None for g in match.groups())
        try:
            checked = date(year or 2000, month, day)
            return checked if year else (month, day)
        except ValueError:
            pass
    fail(path, f'must be a day as "MM-DD" (every year) or "YYYY-MM-DD" (once) (got {value!r})')
    return None


def read_closures(value, fail, path: tuple) -> tuple[Day, ...]:
    if not isinstance(value, list):
        fail(path, 'must be a list of days such as ["12-24", "2026-12-31"]')
        return ()
    return tuple(d for i, v in enumerate(value) if (d := read_day(v, fail, path + (i,))) is not None)


def read_blackout(value, fail, path: tuple) -> tuple[Blackout, ...]:
    """[{ from = "12-15", to = "12-31", reason = "year-end close" }, ...]"""
    found = []
    for i, item in enumerate(value if isinstance(value, list) else [None]):
        here = path + (i,)
        if not isinstance(item, dict):
            fail(here if isinstance(value, list) else path,
                 'must be a list such as [{ from = "12-15", to = "12-31", reason = "year-end close" }]')
            continue
        wrong = sorted(set(item) - {"from", "to", "reason"})
        missing = [k for k in ("from", "to") if k not in item]
        if wrong or missing:
            fail(here, (f"{wrong[0]!r} is not a key here (from, to, reason)" if wrong else
                        f"needs {' and '.join(missing)}") + ', as in { from = "12-15", to = "12-31" }')
            continue
        start, end = read_day(item["from"], fail, here + ("from",)), read_day(item["to"], fail, here + ("to",))
        reason = item.get("reason", "")
        if not isinstance(reason, str):
            fail(here + ("reason",), "must be text")
            continue
        if start is None or end is None:
            continue
        if isinstance(start, date) != isinstance(end, date) or (isinstance(start, date) and end < start):
            fail(here, "from and to must both be MM-DD, or both YYYY-MM-DD with from first")
            continue
        if not isinstance(start, date) and _wrapped_days(start, end) > MAX_WRAPPED_DAYS:
            fail(here, f"from {item['from']} to {item['to']} runs over New Year for {_wrapped_days(start, end)} "
                       "days: is it written backwards? (from is the first day)")
            continue
        found.append(Blackout(start, end, reason.strip()))
    return tuple(found)
