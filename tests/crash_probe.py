"""Run by tests/test_embedded.py in a pytest subprocess (not collected otherwise): a database process dies in the
first test, and the session must stop there with the cause, never reaching the second test."""
import os
import signal
import time


def test_a_database_process_dies(db):
    with db.connection() as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    os.kill(pid, signal.SIGILL)
    time.sleep(1.0)  # the postmaster logs the death; the teardown hook reads it


def test_never_reached():
    pass
