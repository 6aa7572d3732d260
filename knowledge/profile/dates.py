"""How answers write dates: one format everywhere, "4 May 2026" (the day unpadded, the month in full), so an
answer never reads "as of 03 December 2026" next to "4 May 2026". Written with date.day rather than strftime's
%-d, which only some C libraries know."""
from __future__ import annotations

from datetime import date, datetime, timezone


def day(value: date) -> str:
    """4 May 2026"""
    return f"{value.day} {value:%B %Y}"


def day_month(value: date) -> str:
    """4 May (a day in every year: a leave year's start, a carry-over deadline)"""
    return f"{value.day} {value:%B}"


def weekday(value: date) -> str:
    """Monday 4 May 2026"""
    return f"{value:%A} {day(value)}"


def moment(value: datetime) -> str:
    """4 May 2026 09:30 UTC"""
    value = value.astimezone(timezone.utc)
    return f"{day(value)} {value:%H:%M} UTC"
