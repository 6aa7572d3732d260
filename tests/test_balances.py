"""Leave balances for every sample employee against a hand-computed answer key (tests/data/expected_balances.json)."""
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from knowledge.people.balances import leave_balance, round_up_half
from knowledge.people.leave import Employee, Entitlement, LeaveRecord, LeaveYear, months_employed
from knowledge.people.personal import holidays_for
from knowledge.people.records import RecordsReader
from knowledge.profile.language import shipped_pack
from knowledge.profile.load import load_profile
from knowledge.profile.wording import wording
from knowledge.settings import SAMPLE_PROFILE

PROFILE = load_profile(SAMPLE_PROFILE)  # the sample company's rules: the key below was worked out from its policy


def annual_balance(employee, entitlement, records, holidays, as_of):
    location = PROFILE.location(employee.country)
    return leave_balance(location.rules_for("annual", employee), employee, [entitlement] if entitlement else [],
                         records, holidays, as_of, label="annual leave", location_name=location.name)

KEY = json.loads((Path(__file__).parent / "data" / "expected_balances.json").read_text())
CASES = [(point["date"], employee_id, expected)
         for point in KEY["as_of"] for employee_id, expected in point["balances"].items()]


@pytest.fixture(scope="module")
def reader(sample_runtime):
    return RecordsReader(sample_runtime.db)


@pytest.mark.parametrize("as_of,employee_id,expected", CASES, ids=[f"{e}@{d}" for d, e, _ in CASES])
def test_sample_employee_balance_matches_the_hand_computed_key(reader, as_of, employee_id, expected):
    records = reader.load(employee_id)
    today = date.fromisoformat(as_of)
    location = PROFILE.location(records.employee.country)
    balance = leave_balance(location.rules_for("annual", records.employee), records.employee, records.entitlements,
                            records.leave, set(holidays_for(records, location, today)), today, label="annual leave",
                            location_name=location.name)
    got = {name: float(getattr(balance, name)) for name in expected}
    assert got == expected, KEY.get("notes", {}).get(employee_id)


def person(**overrides) -> Employee:
    values = dict(employee_id="E1", name="Sam Doe", email="sam@x", country="GB", fte=Decimal(1),
                  hire_date=date(2024, 1, 8))
    values.update(overrides)
    return Employee(**values)


def test_arithmetic_is_spelled_out_and_adds_up():
    records = [LeaveRecord("A", "annual", date(2026, 2, 2), date(2026, 2, 6), Decimal(5), "approved"),
               LeaveRecord("B", "annual", date(2026, 8, 3), date(2026, 8, 4), Decimal(2), "approved"),
               LeaveRecord("C", "annual", date(2026, 9, 1), date(2026, 9, 1), Decimal("0.5"), "pending"),
               LeaveRecord("D", "annual", date(2026, 10, 1), date(2026, 10, 2), Decimal(2), "cancelled")]
    balance = annual_balance(person(), Entitlement("annual", 2026, None, Decimal(3)), records, set(), date(2026, 6, 1))
    assert balance.arithmetic() == ("25 entitlement + 3 carried over - 5 taken - 2 booked ahead "
                                    "= 21 days available")
    assert balance.pending == Decimal("0.5") and balance.records_used == ["A", "B", "C"]


def test_carry_over_expires_after_31_march_unless_used():
    used = [LeaveRecord("A", "annual", date(2026, 3, 2), date(2026, 3, 3), Decimal(2), "approved")]
    ent = Entitlement("annual", 2026, None, Decimal(5))
    before = annual_balance(person(), ent, used, set(), date(2026, 3, 31))
    after = annual_balance(person(), ent, used, set(), date(2026, 4, 1))
    assert (before.expired, before.available) == (0, Decimal(28))
    assert (after.expired, after.available) == (3, Decimal(25))
    assert "3 carried-over expired on 31 March" in after.arithmetic()


def test_part_time_joiner_pro_rata_rounds_up_to_half_days():
    joiner = person(fte=Decimal("0.6"), hire_date=date(2026, 4, 20))  # after the 15th: May-December
    assert months_employed(joiner, LeaveYear(date(2026, 1, 1), date(2026, 12, 31), 2026), 15) == 8
    balance = annual_balance(joiner, None, [], set(), date(2026, 6, 1))
    assert balance.entitlement == Decimal(10)  # 25 x 0.6 x 8/12 = 10
    assert "x 0.6 FTE x 8/12 months" in balance.entitlement_working()
    assert round_up_half(Decimal("16.67")) == Decimal("17") and round_up_half(Decimal("20.2")) == Decimal("20.5")


def test_leave_across_new_year_counts_in_each_year_by_working_day():
    holidays = {date(2026, 1, 1)}
    record = LeaveRecord("X", "annual", date(2025, 12, 29), date(2026, 1, 2), Decimal(4), "approved")
    b2025 = annual_balance(person(), None, [record], holidays, date(2025, 12, 31))
    b2026 = annual_balance(person(), None, [record], holidays, date(2026, 1, 10))
    assert (b2025.taken, b2026.taken) == (Decimal(3), Decimal(1))


def test_uk_long_service_starts_the_january_after_the_fifth_anniversary():
    assert annual_balance(person(hire_date=date(2021, 3, 1)), None, [], set(), date(2026, 6, 1)).entitlement == 25
    assert annual_balance(person(hire_date=date(2021, 3, 1)), None, [], set(), date(2027, 6, 1)).entitlement == 27
    assert annual_balance(person(country="DE"), None, [], set(), date(2026, 6, 1)).entitlement == 30


def rules(**values):
    from knowledge.profile.model import LeaveRules

    return LeaveRules("annual", **values)


def balance_of(rule, employee, as_of, records=(), entitlements=()):
    return leave_balance(rule, employee, list(entitlements), list(records), set(), as_of, label="annual leave",
                         location_name="Here")


def test_a_leave_year_that_starts_on_each_hire_anniversary():
    from knowledge.profile.model import LongServiceStep

    sam = person(hire_date=date(2023, 7, 15))
    rule = rules(year_start=None, base_days=Decimal(20), long_service=(LongServiceStep(2, Decimal(22)),))
    b = balance_of(rule, sam, date(2026, 6, 15))
    assert (b.year.start, b.year.end, b.year.label) == (date(2025, 7, 15), date(2026, 7, 14), 2025)
    assert b.entitlement == 22  # 2 full years on 15 July 2025
    leap = person(hire_date=date(2024, 2, 29))
    assert balance_of(rule, leap, date(2026, 3, 5)).year.start == date(2026, 3, 1)  # no 29 Feb in 2026


def test_not_pro_rated_and_whole_day_rounding():
    joiner = person(hire_date=date(2026, 9, 1), fte=Decimal("0.7"))
    assert balance_of(rules(base_days=Decimal(20), pro_rata="none"), joiner, date(2026, 9, 2)).entitlement == 14
    assert balance_of(rules(base_days=Decimal(25), rounding="nearest_whole"), joiner,
                      date(2026, 9, 2)).entitlement == 6  # 25 x 0.7 x 4/12 = 5.83


def test_accrual_per_half_month_and_per_week():
    from knowledge.profile.model import Accrual

    joiner = person(hire_date=date(2026, 3, 10))
    half = balance_of(rules(accrual=Accrual("half_month", Decimal("0.5"))), joiner, date(2026, 4, 20))
    assert half.entitlement == Decimal("1")  # 16-31 Mar and 1-15 Apr; 1-15 Mar was not worked in full
    weekly = balance_of(rules(accrual=Accrual("week", Decimal("0.4"), max_days=Decimal(2))), joiner,
                        date(2026, 4, 20))
    assert weekly.entitlement == Decimal(2)  # 10 Mar - 20 Apr is 42 days, 6 weeks: 2.4, capped at 2 a year
    assert "capped at 2 a year" in weekly.entitlement_working()
    german = wording(shipped_pack("de"))  # the same working in the asker's language, figures unchanged
    assert weekly.entitlement_working() == "2.4 days (0.4 days per week x 6 completed so far, capped at 2 a year)"
    assert weekly.entitlement_working(german) == ("2,4 Tage (0,4 Tage pro Woche x 6 bisher abgeschlossen, begrenzt auf "
                                                  "2 pro Jahr)")
    assert half.arithmetic(german) == "1 bisher erworben - 0 genommen - 0 im Voraus gebucht = 1 Tage verfügbar"


def test_a_balance_worded_in_german_has_the_english_figures():
    """Every phrase of a balance (pro rata, FTE, rounding, carry-over capped or reported, expiry) has its German
    template; the figures are the English ones with a decimal comma."""
    joiner = person(hire_date=date(2026, 5, 1), fte=Decimal("0.6"))
    rules_ = rules(base_days=Decimal(25), rounding="up_half")
    balance = balance_of(rules_, joiner, date(2026, 6, 2))
    german = wording(shipped_pack("de"))
    assert balance.entitlement_working() == ("25 days (Here full-time entitlement) x 0.6 FTE x 8/12 months employed "
                                             "this leave year, rounded up to the nearest half day = 10 days")
    assert balance.entitlement_working(german) == ("25 Tage (Vollzeitanspruch Here) x Stellenanteil 0,6 x 8/12 Monate "
                                                   "in diesem Urlaubsjahr beschäftigt, auf einen halben Tag "
                                                   "aufgerundet = 10 Tage")


def test_carry_over_the_hr_system_does_not_report_is_computed_from_last_years_unused_days():
    """The sample GB rules: up to 5 days carry, to be used by 31 March. Last year (its entitlements row says 25
    days and no carry-over) 17 were taken, so 8 were left: 5 carry into this year, said as computed. The HR
    system's own figure, when it reports one, still wins; nothing is computed when the profile lets nothing carry
    or when the records do not reach into last year."""
    from dataclasses import replace

    from knowledge.profile.model import CarryOver

    rules = PROFILE.location("GB").rules_for("annual", person())
    last_year = [Entitlement("annual", 2025, None, Decimal(0))]
    taken = [LeaveRecord("A", "annual", date(2025, 3, 3), date(2025, 3, 14), Decimal(10), "approved"),
             LeaveRecord("B", "annual", date(2025, 8, 4), date(2025, 8, 12), Decimal(7), "approved"),
             LeaveRecord("C", "annual", date(2026, 2, 2), date(2026, 2, 3), Decimal(2), "approved")]

    def balance(entitlements, records=taken, rules=rules):
        return leave_balance(rules, person(), entitlements, records, set(), date(2026, 3, 1), label="annual leave",
                             location_name="UK")

    computed = balance(last_year)
    assert (computed.entitlement, computed.carried, computed.available) == (25, 5, 28)
    assert "+ 5 carried over (computed: 8 unused in 2025, capped at 5)" in computed.arithmetic()
    reported = balance(last_year + [Entitlement("annual", 2026, None, Decimal(2))])
    assert reported.carried == 2 and "computed" not in reported.arithmetic()
    assert balance(last_year, rules=replace(rules, carry_over=CarryOver(max_days=Decimal(0)))).carried == 0
    uncapped = balance(last_year, rules=replace(rules, carry_over=CarryOver(expires=(3, 31))))
    assert uncapped.carried == 8 and "computed: unused in 2025" in uncapped.arithmetic()
    assert balance([], records=taken[2:]).carried == 0  # nothing known of 2025: no days promised
