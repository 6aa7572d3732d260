"""An HR system's records synced on a schedule (issue 11 item 6): 5,000 employees with their time-off requests
and balances from a local BambooHR (tests/fakes/bamboohr_api.py, speaking the documented API), the first run, a
run with nothing changed, and one with 1% of the employees changed (a new request and a new balance each).
Time and peak memory of this process (the fake server is a thread in it and holds a few MB).

    python benchmarks/records_sync.py [--employees 5000]
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, write_result  # noqa: E402
from tests.fakes.bamboohr_api import FakeBambooHR  # noqa: E402

TYPES = {"Vacation": "annual", "Sick": "sick"}


def fill(hr: FakeBambooHR, employees: int, locations: list[str], rng: random.Random) -> None:
    for i in range(1, employees + 1):
        manager = str(rng.randint(1, i - 1)) if i > 20 else None
        hr.hire(str(i), f"First{i}", f"Last{i}", f"person{i}@example.test", rng.choice(locations),
                f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", supervisor=manager)
        for n in range(4):
            month = rng.randint(1, 12)
            hr.time_off(f"{i}-{n}", str(i), rng.choice(list(TYPES)), f"2026-{month:02d}-01",
                        f"2026-{month:02d}-02", "2", status=rng.choice(["approved", "requested", "canceled"]))
        hr.balance(str(i), "Vacation", str(rng.randint(0, 30)))
        hr.balance(str(i), "Sick", str(rng.randint(0, 10)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=5000)
    args = parser.parse_args()
    from knowledge.database.connection import Database
    from knowledge.runtime import Runtime
    from knowledge.settings import Settings
    from knowledge.sources.runner import run_source
    from knowledge.sources.store import SourceStore

    rng = random.Random(11)
    hr = FakeBambooHR(api_key="benchmark-key")
    os.environ["BENCH_BAMBOO_KEY"] = "benchmark-key"
    url, pg = benchmark_database("records")
    db = Database(url)
    results = {"employees": args.employees}
    try:
        rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=db)
        fill(hr, args.employees, sorted(rt.profile.locations), rng)
        results["requests"], results["balances"] = len(hr.time_off_requests), sum(map(len, hr.balances.values()))
        store = SourceStore(db)
        store.add("hr", "bamboohr", {"company": "acme", "api_key": "env:BENCH_BAMBOO_KEY", "base_url": hr.base_url,
                                     "leave_types": TYPES}, 3600)
        changed = max(1, args.employees // 100)
        for name, change in (("first run", 0), ("nothing changed", 0), ("1% changed", changed)):
            for employee in rng.sample(sorted(hr.employees, key=int), change):
                hr.balance(employee, "Vacation", str(rng.randint(31, 40)))
                hr.time_off(f"{employee}-new", employee, "Vacation", "2026-11-02", "2026-11-03", "2")
            calls = len(hr.asked)
            started = time.perf_counter()
            result = run_source(rt.ingestor, store, store.get("hr"), profile=rt.profile)
            seconds = time.perf_counter() - started
            results[name] = {"seconds": round(seconds, 1), "changes": result.changes, "status": result.status,
                             "http_calls": len(hr.asked) - calls, "error": result.error,
                             "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
            print(f"{name:16} {seconds:7.1f} s  {result.status} {result.changes}  "
                  f"{results[name]['http_calls']} calls  peak RSS {results[name]['peak_rss_mb']} MB")
    finally:
        db.close()
        stop_database(pg)
        hr.close()
    print(f"written to {write_result('records_sync', results)}")


if __name__ == "__main__":
    main()
