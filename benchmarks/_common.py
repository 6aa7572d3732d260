"""Shared benchmark plumbing: a throwaway embedded database (or DATABASE_URL), percentiles, result files."""
from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "p99_ms": round(percentile(ms, 99), 2), "mean_ms": round(statistics.fmean(ms), 2)}


def benchmark_database(name: str, keep_dir: str | None = None):
    """(url, server): DATABASE_URL when set, else an embedded server in keep_dir or a temporary directory."""
    from knowledge.database.connection import upgrade
    from knowledge.database.embedded import embedded_url, start_embedded_server

    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        upgrade(url)
        return url, None
    root = Path(keep_dir) if keep_dir else Path(tempfile.mkdtemp(prefix=f"hrbot-bench-{name}-"))
    server = start_embedded_server(root)
    url = embedded_url(server, f"bench_{name}")
    upgrade(url)
    return url, server


def stop_database(server) -> None:
    """Stop a benchmark's embedded server and delete its temporary data directory."""
    if server is None:
        return
    import shutil

    server.cleanup()
    root = Path(server.pgdata).parent
    if root.name.startswith("hrbot-bench-"):
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def ingested(folder: Path, settings, embeddings=None, paths: list[Path] | None = None):
    """A Runtime over a throwaway database holding the documents of `folder`, or only `paths` in it (embeddings:
    reuse a loaded model)."""
    from knowledge.database.connection import Database
    from knowledge.runtime import Runtime

    url, server = benchmark_database("docs_" + folder.name.replace("-", "_"))
    db = Database(url)
    try:
        rt = Runtime(settings, db=db, embeddings=embeddings)
        rt.ingestor.ingest_paths(paths or [folder], uploaded_by="benchmark")
        yield rt
    finally:
        db.close()
        stop_database(server)


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    data = {"benchmark": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


SIGNING_SECRET = "bench-signing-secret"


def post_signed(url: str, body: str, headers: dict | None = None) -> tuple[int, float]:
    """POST a body signed the way Slack signs it; returns (status, seconds until the response)."""
    import urllib.request

    from tests.fakes.slack_api import sign

    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={**sign(SIGNING_SECRET, body), **(headers or {})})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status, time.perf_counter() - started


class ServedBot:
    """A real `hrbot serve --http` subprocess against a fake Slack, started and stopped as a context manager."""

    def __init__(self, database_url: str, slack_api_url: str, port: int, **env):
        import sys

        self.base = f"http://127.0.0.1:{port}"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))},
                    "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-bench",
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api_url,
                    "HRBOT_LOG_LEVEL": "WARNING", **env}
        self.command = [str(Path(sys.executable).parent / "hrbot"), "serve", "--http", "--host", "127.0.0.1",
                        "--port", str(port)]

    def __enter__(self) -> "ServedBot":
        import subprocess
        import urllib.request

        self.process = subprocess.Popen(self.command, env=self.env, cwd=str(Path(__file__).resolve().parents[1]))
        for _ in range(120):
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("hrbot serve did not become healthy")

    def post_event(self, body: str, headers: dict | None = None) -> tuple[int, float]:
        return post_signed(self.base + "/slack/events", body, headers)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def http_status(url: str, timeout: float = 2.0) -> int:
    """A GET's status code; 0 when nothing answers (the server is down or still starting)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0
