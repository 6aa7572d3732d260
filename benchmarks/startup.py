"""Process start to first answer: how long an admin's script waits for one `hrbot` command (issue 10 item 6).

Each command runs as a fresh process against a database holding the sample content, 3 times; the median is
reported. `hrbot docs` needs no model; `search` and `ask` load the embedding model's numpy runtime (torch is
loaded only for storing passages); `import torch` alone is measured for comparison.

    python benchmarks/startup.py
"""
from __future__ import annotations

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


def main() -> None:
    url, server = benchmark_database("startup")
    rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=Database(url))
    rt.load_samples()
    rt.db.close()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))}, "DATABASE_URL": url}
    results = {}
    for name, args in COMMANDS.items():
        command = [HRBOT, *args] if args else [sys.executable, "-c", "import torch, sentence_transformers"]
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
            runs.append(time.perf_counter() - started)
        results[name] = {"median_s": round(statistics.median(runs), 2), "runs_s": [round(r, 2) for r in runs]}
        print(f"{name:18} {results[name]['median_s']:6.2f} s  {results[name]['runs_s']}")
    stop_database(server)
    print(f"written to {write_result('startup', {'commands': results})}")


if __name__ == "__main__":
    main()
