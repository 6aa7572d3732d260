"""For HR admins: where the HR system's balances and ours disagree by more than half a day. Reads every employee's
records with the owner's rights, so the caller audits the read (knowledge.desks.admins does)."""
from __future__ import annotations

from collections import defaultdict

from knowledge.database.connection import Database
from knowledge.people.balances import leave_balance
from knowledge.people.leave import Employee, Entitlement, LeaveRecord, OfficialBalance
from knowledge.people.personal import DISAGREEMENT, holidays_for
from knowledge.people.records import PersonalRecords
from knowledge.profile.dates import day
from knowledge.profile.model import CompanyProfile

WITH_OFFICIAL = """
SELECT e.employee_id, e.name, e.email, e.country, e.fte, e.hire_date, e.end_date, e.department, e.employment_type,
       e.manager_id, e.slack_user_id
FROM employees e WHERE EXISTS (SELECT 1 FROM leave_balances b WHERE b.employee_id = e.employee_id)
ORDER BY e.employee_id"""
ALL_OFFICIAL = "SELECT employee_id, leave_type, year, balance, as_of FROM leave_balances"
ALL_ENTITLEMENTS = """
SELECT employee_id, leave_type, year, base_days, carried_over FROM leave_entitlements
WHERE employee_id IN (SELECT employee_id FROM leave_balances)"""
ALL_LEAVE = """
SELECT employee_id, request_id, leave_type, start_date, end_date, days, status FROM leave_records
WHERE employee_id IN (SELECT employee_id FROM leave_balances) ORDER BY start_date"""
ALL_HOLIDAYS = "SELECT country, day, name FROM public_holidays"


def balance_disagreements(db: Database, profile: CompanyProfile) -> list[dict]:
    """One row per HR-system balance that differs from ours (computed as of the same day) by more than half a day."""
    with db.owner.connection() as conn:  # every employee's balances: the owner's view
        employees = [Employee(*r[:6], end_date=r[6], department=r[7], employment_type=r[8], manager_id=r[9],
                              slack_user_id=r[10]) for r in conn.execute(WITH_OFFICIAL).fetchall()]
        official, entitlements, leave, holidays = (defaultdict(list) for _ in range(4))
        for r in conn.execute(ALL_OFFICIAL).fetchall():
            official[r[0]].append(OfficialBalance(*r[1:]))
        for r in conn.execute(ALL_ENTITLEMENTS).fetchall():
            entitlements[r[0]].append(Entitlement(*r[1:]))
        for r in conn.execute(ALL_LEAVE).fetchall():
            leave[r[0]].append(LeaveRecord(*r[1:]))
        for country, day, name in conn.execute(ALL_HOLIDAYS).fetchall():
            holidays[country].append((day, name))
    found = []
    for e in employees:
        location = profile.location(e.country)
        for o in official[e.employee_id]:
            rules = location.rules_for(o.leave_type, e) if location else None
            if rules is None or not rules.eligible or rules.unlimited:
                found.append({"employee_id": e.employee_id, "name": e.name, "leave_type": o.leave_type,
                              "year": o.year, "as_of": o.as_of, "official": o.balance, "computed": None,
                              "why": "no rule in the company profile computes this balance"})
                continue
            records = PersonalRecords(e, entitlements[e.employee_id], leave[e.employee_id],
                                      dict(holidays[e.country]), official[e.employee_id])
            days = holidays_for(records, location, o.as_of, profile)
            computed = leave_balance(rules, e, records.entitlements, records.leave, set(days), o.as_of,
                                     label=profile.label(o.leave_type), location_name=location.name)
            if computed.year.label != o.year:
                continue  # the as-of day lies outside the leave year it is filed under: nothing to compare
            if abs(o.balance - computed.available) > DISAGREEMENT:
                found.append({"employee_id": e.employee_id, "name": e.name, "leave_type": o.leave_type,
                              "year": o.year, "as_of": o.as_of, "official": o.balance,
                              "computed": computed.available, "why": computed.arithmetic()})
    return found


def describe(rows: list[dict]) -> list[str]:
    return [f"{r['employee_id']} {r['name']}, {r['leave_type']} {r['year']} as of {day(r['as_of'])}: HR system "
            f"{_fmt(r['official'])} days, ours " + (f"{_fmt(r['computed'])} ({r['why']})" if r["computed"] is not None
                                                  else f"none ({r['why']})") for r in rows]


def _fmt(value) -> str:
    return f"{value.normalize():f}"
