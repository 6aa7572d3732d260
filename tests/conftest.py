"""Test fixtures: a real embedded PostgreSQL + pgvector, the real local embedding model, and the CLI in-process."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from knowledge.database.connection import Database, upgrade, with_user
from knowledge.database.roles import RUNTIME_ROLE, create_runtime_role
from knowledge.database.embedded import embedded_url, start_embedded_server
from knowledge.runtime import SAMPLE_DOCS, Runtime
from knowledge.settings import Settings

TRUNCATE_ALL = ("TRUNCATE documents, chunks, lexicon, embedding_space, employees, leave_entitlements, "
                "leave_records, leave_balances, public_holidays, questions, spent_seals, feedback, escalations, processed_events, "
                "admins, audit_log, procrastinate_jobs, sources, source_items, colleague_names, erased_people "
                "RESTART IDENTITY CASCADE")  # BM25 stats reset by trigger


_servers: list = []  # the session's embedded server, once started, for the crash check after each test


@pytest.fixture(scope="session")
def pg_server():
    """One embedded server per test session, in a private temporary directory, deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="hrbot-test-"))
    server = start_embedded_server(root)
    _servers.append(server)
    yield server
    _servers.remove(server)
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


def pytest_runtest_teardown(item):
    """Stop the whole session at the first crashed database process: every later test would only report
    "the database system is in recovery mode", hiding the cause."""
    for server in _servers:
        crash = server.crash()
        if crash is not None:
            from knowledge.database.embedded import describe_crash

            pytest.exit(f"{item.nodeid}: {describe_crash(crash, server.log_path)}", returncode=3)


def _fresh_database(server, name: str, runtime_role: str | None = None) -> str:
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if runtime_role:
            create_runtime_role(conn, runtime_role)
    url = embedded_url(server, name)
    upgrade(url, runtime_role)
    return url


def split_database(server, name: str) -> Database:
    """A database as the product opens it: the runtime role (owns nothing, bound by row-level security) for
    answers and Slack, the owner for imports and ingestion."""
    owner_url = _fresh_database(server, name, RUNTIME_ROLE)
    return Database(with_user(owner_url, RUNTIME_ROLE), server=server, owner=Database(owner_url, server=server))


@pytest.fixture(scope="session")
def database_url(pg_server) -> str:
    return _fresh_database(pg_server, "hrbot_test")


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings.from_env(environ={"HRBOT_DATA_DIR": str(tmp_path_factory.mktemp("data"))}, dotenv_path=None)


@pytest.fixture(scope="session")
def embeddings():
    from knowledge.search.embeddings import LocalEmbeddings

    return LocalEmbeddings()


@pytest.fixture(scope="session")
def session_db(database_url, pg_server):
    db = Database(database_url, server=pg_server)
    yield db
    db.close()


@pytest.fixture
def db(session_db):
    """The shared test database, emptied before each test."""
    with session_db.connection() as conn:
        conn.execute(TRUNCATE_ALL)
    return session_db


@pytest.fixture
def runtime(settings, db, embeddings) -> Runtime:
    return Runtime(settings, db=db, embeddings=embeddings)


@pytest.fixture(scope="session")
def sample_runtime(pg_server, settings, embeddings):
    """A separate database holding the sample content, ingested once; tests must only read it. Opened as the
    product opens it: answers and Slack run as the runtime role."""
    db = split_database(pg_server, "hrbot_samples")
    rt = Runtime(settings, db=db, embeddings=embeddings)
    results = rt.ingestor.ingest_paths([SAMPLE_DOCS])
    assert all(r.status == "added" for r in results), [(r.source, r.reason) for r in results]
    rt.load_samples()
    yield rt
    db.close()


@pytest.fixture
def store(runtime):
    """The scheduled sources of the test database."""
    from knowledge.sources.store import SourceStore

    return SourceStore(runtime.db)


@pytest.fixture
def invoke(runtime):
    """Run an `hrbot` command in-process against the test database; returns click's Result."""
    from bot.cli import cli  # the console script's group: the core commands and the Slack ones

    def run(*args: str, rt: Runtime | None = None):
        return CliRunner().invoke(cli, list(args), obj=rt or runtime, catch_exceptions=False)

    return run


@pytest.fixture
def count_rows(db):
    def count(table: str) -> int:
        with db.connection() as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # table names are literals in tests

    return count


@pytest.fixture
def fake():
    """A fake Slack Web API with the sample users."""
    from tests.fakes.slack_api import FakeSlack
    from tests.slack_helpers import USERS

    with FakeSlack(users=USERS) as server:
        yield server


@pytest.fixture
def bot(runtime, fake):
    """The Slack app behind signed HTTP requests, on the (empty) test database; test_slack_bot.py overrides it
    with the sample company's."""
    from tests.slack_helpers import SlackHarness

    harness = SlackHarness(runtime, fake)
    yield harness
    harness.close()


os.environ.setdefault("HF_HUB_OFFLINE", "1")
