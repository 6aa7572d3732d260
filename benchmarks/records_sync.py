"""An HR system's records synced on a schedule (issue 11 item 6, issue 24): N employees with 4 time-off requests
and 2 balances each from a local BambooHR that makes them up as it answers (tests/fakes/bamboohr_api.py,
GeneratedBambooHR, speaking the documented API), the first run into an empty embedded database, a run with
nothing changed, and one with 1% of the employees changed (a new request and a new balance each).

Each size runs in a process of its own, so its peak RSS (ru_maxrss: this process, with the fake server's threads,
which hold no employees) is that size's alone. Results are kept under --label (e.g. before / after) in
benchmarks/results/records_sync.json.

    python benchmarks/records_sync.py --label after [--employees 5000 20000 100000] [--runs first same changed]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import RESULTS, benchmark_database, stop_database, write_result  # noqa: E402

TYPES = {"Vacation": "annual", "Sick": "sick"}
RUNS = {"first": "first run", "same": "nothing changed", "changed": "1% changed"}


def peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def one_size(employees: int, runs: list[str]) -> dict:
    """The runs at one size, in this process."""
    from knowledge.database.connection import Database
    from knowledge.runtime import Runtime
    from knowledge.settings import Settings
    from knowledge.sources.runner import run_source
    from knowledge.sources.store import SourceStore
    from tests.fakes.bamboohr_api import GeneratedBambooHR

    rng = random.Random(11)
    os.environ["BENCH_BAMBOO_KEY"] = "benchmark-key"
    url, pg = benchmark_database("records")
    db = Database(url)
    results = {"employees": employees, "requests": 4 * employees, "balances": 2 * employees,
               "rss_mb_before_sync": None}
    try:
        rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=db)
        hr = GeneratedBambooHR(employees, sorted(rt.profile.locations), api_key="benchmark-key")
        store = SourceStore(db)
        store.add("hr", "bamboohr", {"company": "acme", "api_key": "env:BENCH_BAMBOO_KEY", "base_url": hr.base_url,
                                     "leave_types": TYPES}, 3600)
        results["rss_mb_before_sync"] = peak_rss_mb()
        for run in runs:
            if run == "changed":
                for employee in rng.sample(range(1, employees + 1), max(1, employees // 100)):
                    hr.balance(str(employee), "Vacation", str(rng.randint(31, 40)))
                    hr.time_off(f"{employee}-new", str(employee), "Vacation", "2026-11-02", "2026-11-03", "2")
            calls = hr.call_count
            started = time.perf_counter()
            result = run_source(rt.ingestor, store, store.get("hr"), profile=rt.profile)
            seconds = time.perf_counter() - started
            results[RUNS[run]] = {"seconds": round(seconds, 1), "changes": result.changes, "status": result.status,
                                  "http_calls": hr.call_count - calls, "error": result.error,
                                  "peak_rss_mb": peak_rss_mb()}
            print(f"{employees:>7} {RUNS[run]:16} {seconds:7.1f} s  {result.status} {result.changes}  "
                  f"{results[RUNS[run]]['http_calls']} calls  peak RSS {peak_rss_mb()} MB", file=sys.stderr)
        hr.close()
    finally:
        db.close()
        stop_database(pg)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, nargs="+", default=[5000, 20000, 100000])
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--label", default="after", help="the key the figures are kept under (before, after)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: one size, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.employees[0], args.runs)))
        return
    sizes = {}
    for employees in args.employees:
        child = subprocess.run([sys.executable, __file__, "--one", "--employees", str(employees),
                                "--runs", *args.runs], stdout=subprocess.PIPE, text=True, check=True)
        sizes[str(employees)] = json.loads(child.stdout.strip().splitlines()[-1])
    path = RESULTS / "records_sync.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    labels = kept.get("labels") or ({"issue 11 (in-memory fake, one process)": kept} if kept else {})
    labels[args.label] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "commit": _commit(), "sizes": sizes}
    print(f"written to {write_result('records_sync', {'labels': labels})}")


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
