"""What `make test`'s set-up costs (issue 24): the venv's size and its 15 largest packages, the install's time, and
`hrbot search` as a fresh process (wall time, peak memory) against a database holding the sample company.

    python benchmarks/install_size.py --fresh /tmp/hrbot-venv [--label after]

--fresh creates a venv there from this checkout (`pip install -e '.[test]'`, as the Makefile does, with pip's
cache as it is) and timing it, then measures that venv. Without --fresh the running interpreter's venv is
measured (no install time). Run it from two checkouts (main and a branch) to compare them side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import benchmark_database, stop_database, write_result  # noqa: E402

SEARCH = ["search", "dental implants"]


def install(venv: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["/usr/bin/python3.11" if Path("/usr/bin/python3.11").exists() else sys.executable,
                    "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-e", f"{ROOT}[test]"], check=True)
    return time.perf_counter() - started


def megabytes(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return round(int(out.split()[0]) / 1024, 1)


def largest_packages(count: int = 15) -> list[dict]:
    """The site-packages entries (a package, its .libs, a lone module) by size on disk."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    sizes = [(megabytes(entry), entry.name) for entry in site.iterdir() if not entry.name.endswith(".dist-info")]
    return [{"name": name, "mb": mb} for mb, name in sorted(sizes, reverse=True)[:count]]


def fresh_search(env: dict, runs: int = 3) -> dict:
    """`hrbot search` in new processes: median wall time and the largest peak RSS of the runs. GNU time reports
    the peak: a child forked from this process would count this process's memory before its exec."""
    hrbot = str(Path(sys.executable).with_name("hrbot"))
    seconds, peaks = [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "peak_kb=%M", hrbot, *SEARCH], env=env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr
        peaks.append(int(done.stderr.rsplit("peak_kb=", 1)[1].split()[0]) / 1024)
    return {"median_s": round(statistics.median(seconds), 2), "runs_s": [round(s, 2) for s in seconds],
            "peak_rss_mb": round(max(peaks), 1)}


def measure(label: str, install_seconds: float | None) -> None:
    from importlib.util import find_spec

    from knowledge.database.connection import Database
    from knowledge.runtime import Runtime
    from knowledge.settings import Settings

    url, server = benchmark_database("install")
    rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=Database(url))
    rt.load_samples()
    rt.db.close()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_", "HRBOT_"))},
           "DATABASE_URL": url}
    searches = {runtime: fresh_search({**env, "HRBOT_EMBED_RUNTIME": runtime}) for runtime in ("auto", "numpy")}
    stop_database(server)
    result = {"label": label, "venv_mb": megabytes(Path(sys.prefix)),
              "install_s": None if install_seconds is None else round(install_seconds, 1),
              "torch_installed": find_spec("torch") is not None, "largest_packages": largest_packages(),
              "search_fresh_process": searches}
    print(json.dumps(result, indent=2))
    print(f"written to {write_result(f'install_size_{label}', result)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", type=Path, help="create a venv here from this checkout and measure it")
    parser.add_argument("--label", default="current")
    parser.add_argument("--install-seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh:
        seconds = install(args.fresh)
        subprocess.run([str(args.fresh / "bin" / "python"), __file__, "--label", args.label,
                        "--install-seconds", str(seconds)], check=True)
        return
    measure(args.label, args.install_seconds)


if __name__ == "__main__":
    main()
