"""The embedded server's supervisor (fault probe: the bot deadlocked when its database died under load).

Restarting never forks (fork() runs OpenBLAS's pthread_atfork handler while the supervisor thread holds the GIL),
a zombie postmaster is never taken for a running one, and `hrbot serve` exits 0 on SIGTERM with answers in
flight even while torch works in a daemon thread."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from knowledge.database.embedded import EmbeddedServer, start_embedded_server
from knowledge.database.processes import process_alive
from knowledge.database.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[1]


def _zombie() -> int:
    """A child that has exited and is not reaped yet."""
    pid = os.posix_spawn("/bin/true", ["true"], dict(os.environ))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] == "Z":
            return pid
        time.sleep(0.01)
    raise AssertionError("no zombie")


def test_a_zombie_postmaster_is_not_running(tmp_path):
    pid = _zombie()
    try:
        pgdata = tmp_path / "pgdata"
        pgdata.mkdir()
        (pgdata / "postmaster.pid").write_text(f"{pid}\n{pgdata}\n1700000000\n5432\n{pgdata}\n\n  0 0\nready\n")
        assert os.path.exists(f"/proc/{pid}")  # the pid exists (kill(pid, 0) succeeds)...
        assert not process_alive(pid)  # ...but it serves nothing
        assert not EmbeddedServer(object(), pgdata).running()
        assert process_alive(os.getpid())
    finally:
        os.waitpid(pid, 0)


def _busy_blas(stop: threading.Event) -> None:
    import numpy as np

    a = np.random.default_rng(0).standard_normal((400, 400))
    while not stop.is_set():
        a @ a  # OpenBLAS's worker threads busy, its locks taken and released all the time


def test_a_killed_postmaster_is_restarted_without_forking_while_blas_is_busy(tmp_path, monkeypatch):
    import _posixsubprocess

    server = start_embedded_server(tmp_path / "data")
    stop = threading.Event()
    workers = [threading.Thread(target=_busy_blas, args=(stop,), daemon=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        def no_fork(*args, **kwargs):
            raise AssertionError("the supervisor forked")

        monkeypatch.setattr(os, "fork", no_fork)
        monkeypatch.setattr(_posixsubprocess, "fork_exec", no_fork)  # subprocess.Popen's fork (and vfork)
        supervisor = Supervisor(server)
        for round in range(3):
            old = server.postmaster_pid()
            os.kill(old, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while process_alive(old) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not server.running()
            # As the supervisor's loop does: a first start can fail while the killed postmaster's backends still
            # hold its shared memory (they notice its death within a second); it is tried again.
            deadline = time.monotonic() + 30
            while not supervisor.check() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert server.running(), supervisor.last_error
            assert supervisor.restarts == round + 1
            assert server.postmaster_pid() != old and server.ready()
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        monkeypatch.undo()
        server.cleanup()


ZOMBIE_SCRIPT = textwrap.dedent("""
    # Like hrbot as a container's PID 1: the orphaned postmaster is ours, and a SIGKILLed one stays a zombie
    # until someone reaps it. `reap` off: nobody does (a PID 1 that never reaps).
    import ctypes, os, signal, sys, time
    from pathlib import Path
    assert ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    from knowledge.database.embedded import EmbeddedServer, start_embedded_server
    from knowledge.database.supervisor import Supervisor
    server = start_embedded_server(Path(sys.argv[1]))
    if sys.argv[2] == "no-reap":
        EmbeddedServer._reap = lambda self, pid: None
    old = server.postmaster_pid()
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = Path(f"/proc/{old}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        time.sleep(0.02)
    assert state == "Z", state
    assert not server.running()
    supervisor = Supervisor(server)
    assert supervisor.check(), supervisor.last_error
    new = server.postmaster_pid()
    assert new != old and server.ready(), (old, new)
    print("zombie" if Path(f"/proc/{old}").exists() else "reaped", old, new)
    server.cleanup()
""")


@pytest.mark.parametrize("reap", ["reap", "no-reap"])
def test_a_zombie_postmaster_is_restarted_not_taken_for_running(tmp_path, reap):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", ZOMBIE_SCRIPT, str(tmp_path / "data"), reap], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == ("reaped" if reap == "reap" else "zombie"), done.stdout


def test_serve_exits_0_on_sigterm_with_answers_in_flight_while_torch_works(tmp_path):
    """The embedded default with the sample documents: at start `hrbot serve` warms the quotes' sentence vectors
    with torch in a daemon thread (importing torch alone takes seconds), so SIGTERM right after the first
    answers start finds torch at work. Before, the drain went well and then the interpreter's finalization
    aborted (std::terminate from a daemon thread unwound through torch: exit status -6)."""
    from tests.fakes.slack_api import FakeSlack
    from tests.slack_helpers import USERS
    from tests.test_faults import _dm, _env, _free_port, _serve

    with FakeSlack(users=USERS) as fake:
        env = {**_env(tmp_path, fake), "PYTHONPATH": str(ROOT)}
        hrbot = str(Path(sys.executable).with_name("hrbot"))
        subprocess.run([hrbot, "ingest", str(ROOT / "knowledge" / "sample" / "docs")], env=env, check=True,
                       capture_output=True, timeout=300)
        port = _free_port()
        process = _serve(env, port)
        try:
            fake.slow_down("chat.postMessage", 1.5)  # every answer is mid-way when SIGTERM comes
            for i in range(6):
                _dm(port, i, "EvExit")
            fake.wait_for("chat.postMessage", 6)
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
        stderr = process.stderr.read()
        assert code == 0, stderr[-3000:]
        assert "Fatal Python error" not in stderr and "terminate called" not in stderr, stderr[-3000:]
        assert len({c.args["ts"] for c in fake.calls_to("chat.update")}) == 6, stderr[-3000:]
        # The exit handlers ran: the embedded server this process started is stopped.
        pid_file = tmp_path / "data" / "pgdata" / "postmaster.pid"
        deadline = time.monotonic() + 60  # pg_ctl stop -w waits up to 60 s
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_file.exists(), stderr[-3000:]


def test_leaving_does_not_wait_for_a_job_in_a_thread():
    """The outside probe of issue 22 (F3): SIGTERM while a source dripped its answer took 292 s to exit, past any
    grace period: the exit waited for the job's thread. A job left mid-run is taken again by stalled-job
    recovery; the exit handlers still run."""
    script = textwrap.dedent("""
        import atexit, threading, time
        from bot.cli import _leave
        threading.Thread(target=time.sleep, args=(300,), daemon=False).start()  # a source job, dripping
        atexit.register(lambda: print("exit handlers ran", flush=True))
        _leave(0)
    """)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "exit handlers ran" in done.stdout, done.stderr
    assert time.monotonic() - started < 30
