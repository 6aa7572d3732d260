"""Process start to first answer: how long an admin's script waits for one `hrbot` command (issue 10 item 6).

Each command runs as a fresh process against a database holding the sample content, 3 times; the median is
reported with its user CPU and peak resident memory (the child's rusage). `hrbot docs` needs no model; `search`
and `ask` load the embedding model's numpy runtime; `import torch` alone is measured for comparison where the
optional extra is installed. The database is already running (DATABASE_URL), as it is for a second command.

    python benchmarks/startup.py [--runs 3] [--label NAME]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, write_result  # noqa: E402
from knowledge.database.connection import Database  # noqa: E402
from knowledge.runtime import Runtime  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

HRBOT = str(Path(sys.executable).with_name("hrbot"))
COMMANDS = {
    "docs": ["docs"],
    "search": ["search", "dental implants"],
    "ask": ["ask", "--as", "U0SAMPLE", "How much annual leave do I have?"],
    "import torch only": None,
}


def run_once(command: list[str], env: dict) -> tuple[float, float, int]:
    """(wall seconds, user CPU seconds, peak RSS in MB) of one fresh process. The peak is GNU time's: a child's
    own rusage keeps the high-water mark of the parent it was forked from (this benchmark holds the model)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%U %M", *command], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command} failed: {done.stderr.decode()[-2000:]}")
    user, peak_kb = done.stderr.decode().strip().splitlines()[-1].split()
    return wall, float(user), int(peak_kb) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default="", help="written as startup_<label>.json (a before/after pair)")
    args = parser.parse_args()
    url, server = benchmark_database("startup")
    rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=Database(url))
    rt.load_samples()
    rt.db.close()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))}, "DATABASE_URL": url}
    results = {}
    for name, command_args in COMMANDS.items():
        if command_args is None and importlib.util.find_spec("torch") is None:
            continue
        command = [HRBOT, *command_args] if command_args else [sys.executable, "-c", "import torch, sentence_transformers"]
        runs = [run_once(command, env) for _ in range(args.runs)]
        walls, cpus, rss = zip(*runs)
        results[name] = {"median_s": round(statistics.median(walls), 2), "runs_s": [round(r, 2) for r in walls],
                         "user_cpu_s": round(statistics.median(cpus), 2), "peak_rss_mb": max(rss)}
        print(f"{name:18} {results[name]['median_s']:6.2f} s  {results[name]['runs_s']}  "
              f"user {results[name]['user_cpu_s']} s  peak {max(rss)} MB", flush=True)
    stop_database(server)
    name = f"startup_{args.label}" if args.label else "startup"
    print(f"written to {write_result(name, {'commands': results, 'load_average': os.getloadavg()})}")


if __name__ == "__main__":
    main()
