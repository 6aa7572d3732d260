"""The hourly reminder run (issue 26 item 3) over N opted-in employees, against a local fake Slack: how long one
run takes when everyone is due (N records read under each person's binding, N claims, N DMs), the same tick again
(everything already sent: N reads, no DM), and a tick far from any deadline (nobody read, Slack not asked).

The run handles people one after another, so these figures say how many people one hourly run can serve.

    python benchmarks/reminders_run.py [--employees 200 1000] [--name reminders_run]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, write_result  # noqa: E402

DUE_TICK = datetime(2026, 12, 7, 9, 5, tzinfo=timezone.utc)     # a Monday, 4 weeks before the leave year ends
QUIET_TICK = datetime(2026, 6, 8, 8, 5, tzinfo=timezone.utc)    # a Monday in June: no deadline near
REMINDERS = '\n[reminders]\nenabled = true\nweeks_before = 4\nhour = 9\ntime_zones = { GB = "Europe/London" }\n'


def records(n: int) -> tuple[bytes, bytes, bytes]:
    employees = ["employee_id,slack_user_id,email,name,country,department,employment_type,fte,hire_date,end_date,"
                 "manager_id"]
    entitlements = ["employee_id,leave_type,year,base_days,carried_over"]
    leave = ["request_id,employee_id,leave_type,start_date,end_date,days,status"]
    for i in range(n):
        employees.append(f"B{i:06d},UB{i:06d},b{i}@bench.example,Person {i},GB,Sales,permanent,1.0,2020-01-06,,")
        entitlements.append(f"B{i:06d},annual,2026,25,0")
        leave.append(f"RB{i:06d},B{i:06d},annual,2026-06-01,2026-06-05,5,approved")
    return tuple("\n".join(rows).encode() + b"\n" for rows in (employees, entitlements, leave))


def one_size(n: int, settings, tmp: Path) -> dict:
    from bot.reminders import SlackReminders
    from knowledge.database.connection import Database
    from knowledge.desks.reminders import RemindersDesk
    from knowledge.people.imports import import_csv
    from knowledge.runtime import Runtime
    from slack_sdk import WebClient
    from tests.fakes.slack_api import FakeSlack

    url, pg = benchmark_database(f"reminders{n}")
    db = Database(url)
    profile = tmp / "profile.toml"
    profile.write_text(Path(settings.profile_path).read_text() + REMINDERS)
    try:
        for data in records(n):
            import_csv(db, data)
        with db.connection() as conn:
            conn.execute("TRUNCATE reminder_optins, reminders_sent")
            conn.execute("INSERT INTO reminder_optins (employee_id) SELECT employee_id FROM employees")
        runtime = Runtime(replace(settings, profile=str(profile)), db=db)
        desk = RemindersDesk(runtime)
        with FakeSlack(users={f"UB{i:06d}": {"tz": "Europe/London"} for i in range(n)}) as slack:
            sender = SlackReminders(WebClient(token="xoxb-bench", base_url=slack.base_url))
            timings = {}
            for name, tick in (("everyone_due", DUE_TICK), ("same_tick_again", DUE_TICK), ("no_deadline_near", QUIET_TICK)):
                started = time.perf_counter()
                result = desk.run(tick, sender.send, sender.time_zone, sender.locale)
                seconds = time.perf_counter() - started
                timings[name] = {"seconds": round(seconds, 2), "ms_per_person": round(seconds * 1000 / n, 2),
                                 "dms": len({e for e, _, _ in result.sent}), "records_read": result.checked}
            timings["slack_calls"] = len(slack.calls)
        return {"employees": n, **timings}
    finally:
        db.close()
        stop_database(pg)


def main() -> None:
    import tempfile

    from knowledge.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--name", default="reminders_run", help="the results file's name (benchmarks/results/)")
    args = parser.parse_args()
    settings = Settings.from_env(environ={}, dotenv_path=None)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.employees:
            results.append(one_size(n, settings, Path(tmp)))
            print(results[-1], flush=True)
    print(write_result(args.name, {"sizes": results}))


if __name__ == "__main__":
    main()
