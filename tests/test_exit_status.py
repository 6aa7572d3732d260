"""Exit status through a real `hrbot` process: scripts and cron must see failures (issue 14, item 1)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
HRBOT = Path(sys.executable).with_name("hrbot")


@pytest.fixture(scope="module")
def env(pg_server, tmp_path_factory):
    from knowledge.database.connection import upgrade
    from knowledge.database.embedded import embedded_url

    url = embedded_url(pg_server, "hrbot_exit_status")
    upgrade(url)
    yield {**os.environ, "DATABASE_URL": url, "HRBOT_DATA_DIR": str(tmp_path_factory.mktemp("exit-data"))}
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "hrbot_exit_status" WITH (FORCE)')


def hrbot(env, cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(HRBOT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_rejected_files_make_ingest_and_sync_exit_1(env, tmp_path):
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nA fine policy.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    run = hrbot(env, tmp_path, "ingest", str(folder))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "rejected  broken.pdf" in run.stdout and "1 added" in run.stdout
    run = hrbot(env, tmp_path, "sync", str(folder))
    assert run.returncode == 1 and "broken.pdf" in run.stdout
    (folder / "broken.pdf").unlink()
    assert hrbot(env, tmp_path, "sync", str(folder)).returncode == 0


def test_usage_and_domain_errors_exit_non_zero(env, tmp_path):
    assert hrbot(env, tmp_path, "ingest").returncode == 2  # no path: a usage error
    run = hrbot(env, tmp_path, "remove", "no-such-file.pdf")
    assert run.returncode == 1 and run.stderr.startswith("Error: No document named")
    assert hrbot(env, tmp_path, "docs").returncode == 0


def test_doctor_checks_the_installation(tmp_path, database_url):
    import os
    import subprocess

    import psycopg

    from knowledge.database.connection import with_user
    from knowledge.database.roles import RUNTIME_ROLE, create_runtime_role

    with psycopg.connect(database_url, autocommit=True) as conn:
        create_runtime_role(conn)
        conn.execute("TRUNCATE sources CASCADE")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))},
           "DATABASE_URL": with_user(database_url, RUNTIME_ROLE), "HRBOT_OWNER_DATABASE_URL": database_url,
           "HRBOT_DATA_DIR": str(tmp_path)}
    run = subprocess.run([str(HRBOT), "doctor"], env=env, capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    for line in ("ok    company profile:", "ok    database: PostgreSQL 18", "pgvector 0.8", "ok    embedding model:",
                 "384 dimensions", "ok    Slack: no SLACK_BOT_TOKEN", "ok    sources: none scheduled", "ok    disk:",
                 "All good."):
        assert line in run.stdout, run.stdout
    with psycopg.connect(database_url, autocommit=True) as conn:  # a source whose secret this machine lacks
        conn.execute("""INSERT INTO sources (name, kind, settings, every_seconds) VALUES
                        ('wiki', 'confluence', '{"token": "env:HRBOT_TEST_NO_SUCH_TOKEN"}', 3600)""")
    broken = subprocess.run([str(HRBOT), "doctor"], capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL, env={**env, "SLACK_BOT_TOKEN": "xoxb-x",
                                                            "SLACK_API_URL": "http://127.0.0.1:9/"})
    assert broken.returncode == 1 and "FAIL  Slack: ConfigurationError: Can't reach Slack's API" in broken.stdout
    assert ("FAIL  sources: RuntimeError: wiki: token: The environment variable HRBOT_TEST_NO_SUCH_TOKEN is not set"
            in broken.stdout), broken.stdout
    assert "ok    database role: runtime role hrbot_app owns nothing" in run.stdout, run.stdout
    as_superuser = subprocess.run([str(HRBOT), "doctor", "--no-slack"], capture_output=True, text=True, timeout=300,
                                  stdin=subprocess.DEVNULL, env={**env, "DATABASE_URL": database_url,
                                                                  "HRBOT_OWNER_DATABASE_URL": ""})
    assert as_superuser.returncode == 1
    assert "FAIL  database role: RuntimeError: the bot connects as postgres, which is a superuser" in as_superuser.stdout
