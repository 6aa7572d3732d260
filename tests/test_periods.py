"""Reading a period of leave out of a question with a language pack's [dates] words (knowledge/profile/periods.py):
what is said is read, and what is not said (two days, two periods, a month without its days, a date that only reads
month first) is None, so the caller asks for the dates."""
from datetime import date

import pytest

from knowledge.profile.language import shipped_pack
from knowledge.profile.periods import Period, read_period
from tests.planning_helpers import EASTER_2027, TODAY


@pytest.mark.parametrize("pack,text,expected", [
    ("en", "22 December to 2 January", Period(date(2026, 12, 22), date(2027, 1, 2))),
    ("en", "from the 22nd of December", Period(date(2026, 12, 22), date(2026, 12, 22))),
    ("en", "22nd Dec - 2nd Jan 2027", Period(date(2026, 12, 22), date(2027, 1, 2))),
    ("en", "2027-03-29 to 2027-04-02", Period(date(2027, 3, 29), date(2027, 4, 2))),
    ("en", "22 to 29 December", Period(date(2026, 12, 22), date(2026, 12, 29))),
    ("en", "next week", Period(date(2026, 12, 7), date(2026, 12, 11))),
    ("en", "the week after Easter", Period(date(2027, 3, 29), date(2027, 4, 2))),
    ("en", "the week before Easter", Period(date(2027, 3, 22), date(2027, 3, 26))),
    ("en", "from Monday for three days", Period(date(2026, 12, 7), None, working_days=3)),
    ("en", "from 3 March for 2 weeks", Period(date(2027, 3, 3), date(2027, 3, 16))),
    ("en", "on 24 December", Period(date(2026, 12, 24), date(2026, 12, 24))),
    ("en", "the company retreat", None),
    ("de", "22.12.-2.1.", Period(date(2026, 12, 22), date(2027, 1, 2))),
    ("de", "vom 22. bis 29. Dezember", Period(date(2026, 12, 22), date(2026, 12, 29))),
    ("de", "die Woche nach Ostern", Period(date(2027, 3, 29), date(2027, 4, 2))),
    ("de", "nächste Woche", Period(date(2026, 12, 7), date(2026, 12, 11))),
    ("de", "ab Montag für drei Tage", Period(date(2026, 12, 7), None, working_days=3)),
    ("de", "die Brückentage", None),
])
def test_periods_are_read_with_each_packs_words(pack, text, expected):
    assert read_period(text, shipped_pack(pack).dates, TODAY, lambda year: EASTER_2027) == expected


@pytest.mark.parametrize("pack,text", [
    ("en", "14 December to 10 December"),             # written backwards: not a year-long plan over New Year
    ("de", "vom 10.12. bis 5.12."),
    ("en", "1 June to 1 March"),                      # wrapping over New Year for nine months: backwards too
    ("en", "If I take 29 February off"),              # no 29 February in 2027: never moved to the 28th
    ("en", "31 February to 3 March"),                 # not planned as 3 March alone (final outside pass)
    ("de", "vom 30. Februar bis 3. März"),
    ("en", "22 December to 2 January and 15 February to 19 February"),  # two periods: not the first one alone
])
def test_backwards_impossible_and_several_periods_are_asked_about_not_guessed(pack, text):
    assert read_period(text, shipped_pack(pack).dates, TODAY, lambda year: EASTER_2027) is None


def test_a_yearless_period_that_has_begun_is_this_years():
    """"1 to 11 December" asked on 3 December is the period running now, not December next year."""
    today = date(2026, 12, 3)
    assert read_period("1 December to 11 December", shipped_pack("en").dates, today, lambda y: EASTER_2027) == \
        Period(date(2026, 12, 1), date(2026, 12, 11))


@pytest.mark.parametrize("pack,text,today,expected", [
    ("en", "Show me my team's leave in January", TODAY, Period(date(2027, 1, 1), date(2027, 1, 31))),
    ("de", "Urlaub meines Teams im Januar", TODAY, Period(date(2027, 1, 1), date(2027, 1, 31))),
    ("en", "Who in my team is off in July?", date(2026, 7, 10), Period(date(2026, 7, 1), date(2026, 7, 31))),
    ("en", "who is off in December", TODAY, Period(date(2026, 12, 1), date(2026, 12, 31))),
    ("en", "Who in my team is off this week?", TODAY, Period(date(2026, 11, 30), date(2026, 12, 4))),
    ("de", "Wer aus meinem Team ist diese Woche frei?", TODAY, Period(date(2026, 11, 30), date(2026, 12, 4))),
    ("en", "Who in my team was off last week?", TODAY, Period(date(2026, 11, 23), date(2026, 11, 27))),
    ("de", "Wer aus meinem Team war letzte Woche im Urlaub?", TODAY, Period(date(2026, 11, 23), date(2026, 11, 27))),
    ("en", "may I take leave in the summer", TODAY, None),  # "may" without "in" before it is no month
    # "this month" is the whole calendar month (a team view of it shows who was off earlier in it too)
    ("en", "Who in my team is off this month?", TODAY, Period(date(2026, 12, 1), date(2026, 12, 31))),
    ("en", "Who in my team is off next month?", TODAY, Period(date(2027, 1, 1), date(2027, 1, 31))),
    ("en", "Who in my team was off last month?", date(2026, 3, 15), Period(date(2026, 2, 1), date(2026, 2, 28))),
    ("en", "Who in my team was off last month?", date(2027, 1, 5), Period(date(2026, 12, 1), date(2026, 12, 31))),
    ("de", "Wer aus meinem Team ist diesen Monat frei?", TODAY, Period(date(2026, 12, 1), date(2026, 12, 31))),
    ("de", "Wer aus meinem Team ist im nächsten Monat frei?", TODAY, Period(date(2027, 1, 1), date(2027, 1, 31))),
    ("de", "Wer war letzten Monat im Urlaub?", TODAY, Period(date(2026, 11, 1), date(2026, 11, 30))),
    ("en", "what is this monthly allowance", TODAY, None),  # "this month" only as whole words
])
def test_a_month_alone_this_week_and_last_week_are_read(pack, text, today, expected):
    """Outside review: "in January", "this week" and "last week" were not read (the team view showed the next
    four weeks instead): a month alone is that whole month (this one if today is in it, else the next)."""
    assert read_period(text, shipped_pack(pack).dates, today, lambda year: EASTER_2027) == expected


@pytest.mark.parametrize("pack,text,expected", [
    ("en", "from 1 October to 31 October", Period(date(2026, 10, 1), date(2026, 10, 31))),
    ("en", "on 24 December", Period(date(2025, 12, 24), date(2025, 12, 24))),
    ("en", "from 1 December to 11 December", Period(date(2026, 12, 1), date(2026, 12, 11))),
    ("en", "22 December to 2 January", Period(date(2025, 12, 22), date(2026, 1, 2))),
    ("en", "in October", Period(date(2026, 10, 1), date(2026, 10, 31))),
    ("en", "in December", Period(date(2026, 12, 1), date(2026, 12, 31))),
    ("de", "vom 1.10. bis 31.10.", Period(date(2026, 10, 1), date(2026, 10, 31))),
    ("de", "im Oktober", Period(date(2026, 10, 1), date(2026, 10, 31))),
    ("en", "from 2027-01-04 to 2027-01-08", Period(date(2027, 1, 4), date(2027, 1, 8))),  # a year is a year
])
def test_a_yearless_period_asked_about_in_the_past_is_the_most_recent_that_has_begun(pack, text, expected):
    """Outside review: "Who in my team was off from 1 October to 31 October?" on 3 December 2026 read October
    2027. In the past tense a yearless period is the most recent one that has begun."""
    assert read_period(text, shipped_pack(pack).dates, TODAY, lambda year: EASTER_2027, past=True) == expected


@pytest.mark.parametrize("pack,text,past", [
    ("en", "Who in my team was off in October?", True), ("en", "Who in my team took leave in May?", True),
    ("en", "Who in my team is off in October?", False), ("en", "Who will be away in May?", False),
    ("de", "Wer aus meinem Team war im Oktober im Urlaub?", True), ("de", "Wer hatte im Mai frei?", True),
    ("de", "Wer aus meinem Team ist im Oktober frei?", False),
])
def test_the_past_tense_is_told_by_the_packs_words(pack, text, past):
    assert shipped_pack(pack).dates.in_past(text) is past


@pytest.mark.parametrize("pack,text,expected", [
    # the walkthrough of 2026-12-04: each of these was planned as a period nobody meant
    ("en", "if i take 14 december and 18 december off", None),           # two days, not 14 to 18
    ("en", "if i take off the 10th and 11th of december whats left", None),  # not the 11th alone
    ("en", "if i take next week off and the week after, whats left", None),  # two periods, not next week alone
    ("en", "if I take 12/22 to 1/2 off", None),                          # month first: not 22 January
    ("de", "am 24.12. und 31.12. jeweils einen halben Tag", None),
    # "and" after "between" is still a range
    ("en", "between 21 December and 31 December", Period(date(2026, 12, 21), date(2026, 12, 31))),
    ("en", "between the 21st and 23rd of December", Period(date(2026, 12, 21), date(2026, 12, 23))),
    ("de", "zwischen 21.12. und 31.12.", Period(date(2026, 12, 21), date(2026, 12, 31))),
    ("de", "zwischen dem 21. und 23.12.", Period(date(2026, 12, 21), date(2026, 12, 23))),
    ("en", "22 to 29 December", Period(date(2026, 12, 22), date(2026, 12, 29))),
    # the outside re-check of 2026-12-04
    ("en", "If I take next week and the following week off", None),       # two weeks: asked, not one planned
    ("de", "Wenn ich nächste Woche und die Woche danach frei nehme", None),
    ("de", "Wenn ich diese und nächste Woche frei nehme", None),
    ("de", "nächste Woche und übernächste Woche", None),
    ("en", "If I take Monday and Tuesday next week off", None),           # two days of it, not the week
    ("en", "If I take 3 days next week", None),                           # how many, not which
    ("de", "Wenn ich 3 Tage nächste Woche frei nehme", None),
    ("en", "If I take off the week of 14 December", Period(date(2026, 12, 14), date(2026, 12, 18))),
    ("de", "Wenn ich die Woche vom 14.12. frei nehme", Period(date(2026, 12, 14), date(2026, 12, 18))),
    ("en", "If I take the week after next off", Period(date(2026, 12, 14), date(2026, 12, 18))),
    ("de", "übernächste Woche", Period(date(2026, 12, 14), date(2026, 12, 18))),
    ("en", "If I take next week off, how many days is that?", Period(date(2026, 12, 7), date(2026, 12, 11))),
])
def test_two_days_two_periods_and_month_first_dates_are_not_read_as_one_period(pack, text, expected):
    assert read_period(text, shipped_pack(pack).dates, TODAY, lambda year: EASTER_2027) == expected
