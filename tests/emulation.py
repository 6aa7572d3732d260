"""The embedded PostgreSQL run under an emulated CPU (qemu-user), so a binary that needs more than our stated
baseline crashes here even when the machine running the tests has every instruction (AVX-512 included)."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from knowledge.database.embedded import CPU_BASELINE, SYSTEM_USER, bundled_bin_path

# qemu's CPU model for each baseline level we promise (knowledge/database/embedded.py CPU_BASELINE).
QEMU_MODELS = {"x86-64-v3": "Haswell-noTSX", "x86-64-v2": "Nehalem",
               "ARMv9-A with SVE2": "max"}  # qemu 7.2 has no ARMv9 model of its own
QEMU_BINARIES = {"x86_64": "qemu-x86_64", "aarch64": "qemu-aarch64"}


def qemu_binary() -> str | None:
    name = QEMU_BINARIES.get(platform.machine())
    return shutil.which(name) if name else None


QEMU_ATOMIC_SHARED_MEMORY = (8, 1)  # from here qemu-user keeps atomics atomic in memory shared across processes


def qemu_version() -> tuple[int, int] | None:
    binary = qemu_binary()
    if binary is None:
        return None
    import re

    found = re.search(r"version (\d+)\.(\d+)", subprocess.run([binary, "--version"], capture_output=True,
                                                              text=True).stdout)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def baseline_model() -> tuple[str, str]:
    """(baseline level, qemu CPU model) for this machine's architecture."""
    level = CPU_BASELINE[platform.machine()][0]
    return level, QEMU_MODELS[level]


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the wheel's system user then, as the wheel itself does."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SYSTEM_USER, "--", *cmd]
    return cmd


class EmulatedServer:
    """initdb natively, then the postmaster (and so every backend it forks) under qemu with the given CPU."""

    def __init__(self, cpu_model: str):
        self.bin = bundled_bin_path()
        # Its own directory under /tmp: the server's user must reach it (pytest's tmp_path is root-only).
        self.root = root = Path(tempfile.mkdtemp(prefix="hrbot-cpu-guard-"))
        self.cpu_model = cpu_model
        self.data = root / "data"
        self.socket_dir = root / "sock"
        self.log_path = root / "server.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "EmulatedServer":
        self.socket_dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            if subprocess.run(["id", SYSTEM_USER], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)
            shutil.chown(self.root, SYSTEM_USER)
            shutil.chown(self.socket_dir, SYSTEM_USER)
        subprocess.run(_as_server_user([str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust",
                                        "-U", "postgres", "-E", "utf8"]),
                       check=True, capture_output=True, timeout=120)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                _as_server_user([qemu_binary(), "-cpu", self.cpu_model, str(self.bin / "postgres"),
                                 "-D", str(self.data), "-k", str(self.socket_dir), "-h", "",
                                 "-c", "shared_buffers=64MB", "-c", "max_connections=20",
                                 # (Written for qemu 7.2, before QEMU_ATOMIC_SHARED_MEMORY; kept, they cost
                                 # nothing.) qemu-user did not keep atomics atomic across processes: with PG 18's
                                 # I/O worker processes a backend died of SIGSEGV at COMMIT in ~1 run in 3, at
                                 # any CPU level (-cpu max too); with io_method=sync, 10 runs in 10 passed.
                                 # Parallel workers share memory the same way.
                                 "-c", "io_method=sync", "-c", "max_parallel_maintenance_workers=0",
                                 # COMMIT under emulation also lost backends to SIGSEGV (3 attempts in a row in
                                 # one CI run): a throwaway server needs no durable, flushed WAL at commit.
                                 "-c", "synchronous_commit=off", "-c", "fsync=off", "-c", "full_page_writes=off",
                                 "-c", "max_parallel_workers_per_gather=0",
                                 # Fewer processes touching shared memory beside the backend (a CI run on
                                 # 2026-12-01 lost a backend at COMMIT in 5 attempts in a row): no autovacuum
                                 # workers, no background writer rounds, no checkpoints, no WAL senders.
                                 "-c", "autovacuum=off", "-c", "bgwriter_lru_maxpages=0",
                                 "-c", "checkpoint_timeout=1d", "-c", "max_wal_size=10GB",
                                 "-c", "wal_level=minimal", "-c", "max_wal_senders=0"]),
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=5).close()
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulated server did not start:\n{self.log()}") from None
                time.sleep(0.5)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # qemu passes SIGTERM to the postmaster: a smart shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
