"""The job queue's schema (procrastinate's tables), kept current by procrastinate's own versioned migrations:
a fresh database gets its schema.sql, and every later `upgrade` applies the migrations a newer procrastinate
ships that this database has not had, in their version order, each once."""
from __future__ import annotations

import logging
from importlib.resources import files
from importlib.resources.abc import Traversable

log = logging.getLogger(__name__)

CREATE_APPLIED = """
CREATE TABLE IF NOT EXISTS job_queue_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
APPLIED = "SELECT name FROM job_queue_migrations"
RECORD = "INSERT INTO job_queue_migrations (name) VALUES (%(name)s) ON CONFLICT DO NOTHING"
QUEUE_EXISTS = "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"


def shipped_migrations(source: Traversable | None = None) -> list[Traversable]:
    """procrastinate's migration files (NN.NN.NN_NN_name.sql): their names sort in the order to apply them."""
    source = source or files("procrastinate.sql") / "migrations"
    return sorted((m for m in source.iterdir() if m.name.endswith(".sql")), key=lambda m: m.name)


def upgrade_job_queue(conn, source: Traversable | None = None) -> list[str]:
    """Bring the job queue's schema up to the installed procrastinate, in the caller's transaction."""
    migrations = shipped_migrations(source)
    conn.execute(CREATE_APPLIED)
    applied = {row[0] for row in conn.execute(APPLIED)}
    if not applied:
        if not conn.execute(QUEUE_EXISTS).fetchone()[0]:
            # schema.sql is the result of every migration this procrastinate ships
            conn.execute((files("procrastinate.sql") / "schema.sql").read_text())
        # else: made by the first version of migration 0004 (schema.sql at the version installed then, which
        # the version range pinned since): the shipped migrations are taken as included.
        for migration in migrations:
            conn.execute(RECORD, {"name": migration.name})
        return []
    done = []
    for migration in migrations:
        if migration.name not in applied:
            log.warning("applying job queue migration %s", migration.name)
            conn.execute(migration.read_text())
            conn.execute(RECORD, {"name": migration.name})
            done.append(migration.name)
    return done
