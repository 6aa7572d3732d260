"""Database: the embedded PostgreSQL server, connections and pools, and ordered SQL migrations."""
from __future__ import annotations

import importlib
import logging
from contextlib import contextmanager
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Iterator

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool, PoolTimeout

from knowledge.database import roles
from knowledge.database.embedded import EmbeddedServer, embedded_url, start_embedded_server
from knowledge.errors import ConfigurationError, DatabaseCrashed, DatabaseUnavailable, DiskFull, NotPermitted
from knowledge.database.job_schema import upgrade_job_queue
from knowledge.settings import Settings

log = logging.getLogger(__name__)

DISK_FULL = ("The database's disk is full, so nothing was changed. Free some space where the database keeps its "
             "data (HRBOT_DATA_DIR, or your PostgreSQL server's volume) and try again.")
MIGRATIONS = "knowledge.migrations"  # infra/migrations, shipped inside the package (pyproject.toml)

CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
MIGRATION_LOCK = "SELECT pg_advisory_lock(hashtext('hrbot.migrations'))"
MIGRATION_UNLOCK = "SELECT pg_advisory_unlock(hashtext('hrbot.migrations'))"
APPLIED_MIGRATIONS = "SELECT name FROM schema_migrations"
RECORD_MIGRATION = "INSERT INTO schema_migrations (name) VALUES (%(name)s)"
COLLEAGUE_NAMES = "0017_colleague_names.sql"  # filled from the employees once the binding key exists
KEYED_DIGESTS = {COLLEAGUE_NAMES, "0025_first_name_digests.sql"}  # each rebuilds the digests made with the key


def connect(url: str, **kwargs) -> psycopg.Connection:
    """A plain connection, with a kind error when the server is unreachable."""
    try:
        return psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        log.warning("database connection failed: %s", exc)
        raise DatabaseUnavailable(
            "The database is not reachable right now. Check that PostgreSQL is running and DATABASE_URL is right."
        ) from exc


def upgrade(url: str, runtime_role: str | None = None, binding_key: "roles.BindingKey | None" = None,
            notes: list[str] | None = None, rebuild=None) -> list[str]:
    """Apply pending migrations in file-name order, each in its own transaction, as the owner (url). Then make
    sure the records binding key exists (the operator's, given as binding_key, replaces another: a rotation) and,
    given a runtime role, grant it what it needs (again after every upgrade, so new tables are covered). Returns
    the names applied. rebuild(conn, key): remakes what is derived from the key (the colleague digests), given
    by the caller so this room stays below the ones whose data it is."""
    applied_now: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute(MIGRATION_LOCK)
        try:
            conn.execute(CREATE_MIGRATIONS_TABLE)
            done = {row[0] for row in conn.execute(APPLIED_MIGRATIONS)}
            for migration in migration_files():
                if migration.name in done:
                    continue
                with conn.transaction():
                    if migration.name.endswith(".sql"):
                        conn.execute(migration.read_text())
                    else:
                        _run_python_migration(migration.name, conn)
                    conn.execute(RECORD_MIGRATION, {"name": migration.name})
                log.info("applied migration %s", migration.name)
                applied_now.append(migration.name)
            if "0004_job_queue.py" in done:  # 0004 made the tables: now a newer procrastinate's own migrations
                with conn.transaction():
                    applied_now += [f"job queue: {name}" for name in upgrade_job_queue(conn)]
            with conn.transaction():
                key_changed = roles.ensure_binding_key(conn, binding_key)
                if key_changed:
                    log.info("the records binding key is new (first start or rotation)")
                    on_key_change(conn)
                    if notes is not None:
                        notes.append("The binding key is new (a first start or a rotation): colleagues' name digests "
                                     "rebuilt, unanswered events sealed with the old key dropped. Restart every "
                                     "replica with the same HRBOT_BINDING_KEY.")
                if rebuild is not None and (key_changed or KEYED_DIGESTS & set(applied_now)):  # made with the key
                    rebuild(conn, roles.read_binding_key(conn))
                if runtime_role:
                    roles.grant_runtime(conn, runtime_role)
        finally:
            conn.execute(MIGRATION_UNLOCK)
    return applied_now


def on_key_change(conn: psycopg.Connection) -> None:
    """A new binding key: what was sealed or digested with the old one is made again or dropped. Unanswered
    events sealed with the old key could not be told from forged ones, so their bodies are dropped (Slack
    resends nothing; the asker is not answered twice either)."""
    conn.execute("UPDATE processed_events SET state = 'abandoned', body = NULL, lease_until = NULL "
                 "WHERE state = 'answering' AND seal IS NOT NULL")


def pending_migrations(url: str) -> list[str]:
    """Migrations not applied yet, read with any role that may read schema_migrations (a runtime-only replica
    checks this instead of migrating)."""
    with connect(url, autocommit=True) as conn:
        try:
            done = {row[0] for row in conn.execute(APPLIED_MIGRATIONS)}
        except psycopg.errors.UndefinedTable:
            done = set()
    return [m.name for m in migration_files() if m.name not in done]


def migration_status(url: str) -> list[tuple[str, bool]]:
    with connect(url, autocommit=True) as conn:
        conn.execute(CREATE_MIGRATIONS_TABLE)
        done = {row[0] for row in conn.execute(APPLIED_MIGRATIONS)}
    return [(m.name, m.name in done) for m in migration_files()]


def migration_files() -> list[Traversable]:
    """NNNN_name.sql, or NNNN_name.py with upgrade(conn) for schema that a dependency ships (job queue), in
    name order, from the installed package (a wheel, a container image, or this checkout)."""
    return sorted((m for m in files(MIGRATIONS).iterdir()
                   if m.name.endswith((".sql", ".py")) and m.name[:4].isdigit()), key=lambda m: m.name)


def _run_python_migration(name: str, conn: psycopg.Connection) -> None:
    module = importlib.import_module(f"{MIGRATIONS}.{name.removesuffix('.py')}")
    module.upgrade(conn)


def _configure(search_ef: int):
    def configure(conn: psycopg.Connection) -> None:
        register_vector(conn)
        conn.autocommit = True
        # Session-level settings: prepared statements (psycopg prepares after 5 runs) keep working with them.
        conn.execute(psycopg.sql.SQL("SET hnsw.ef_search = {}").format(psycopg.sql.Literal(int(search_ef))))
        # A role's own session defaults (ALTER ROLE ... SET, which any role may do to itself) must not turn the bot
        # read-only; timeouts stay the DBA's to set (upgrade removes the runtime role's own, doctor names them).
        conn.execute("SET default_transaction_read_only = off")
        conn.execute("SET default_transaction_isolation = 'read committed'")
        try:
            # pgvector >= 0.8: keep scanning the index when filters drop candidates.
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
        except psycopg.Error:
            pass
        conn.autocommit = False

    return configure


def _with_patience(work, db: "Database", wait: float) -> None:
    """Run work(), retrying with backoff (1 s doubling to 8 s) for up to `wait` seconds while the server cannot be
    reached: at a boot or a deploy the database may come up after the bot. Then one clear error."""
    import time

    deadline, delay = time.monotonic() + wait, 1.0
    while True:
        try:
            work()
            return
        except (psycopg.OperationalError, DatabaseUnavailable) as exc:
            error = db.explain(exc)
            remaining = deadline - time.monotonic()
            if isinstance(error, DatabaseCrashed) or remaining <= 0:
                if isinstance(error, DatabaseCrashed):
                    raise error from None
                raise DatabaseUnavailable(
                    f"The database is not reachable ({_reason(exc)}) after {wait:.0f} s. Check that PostgreSQL is "
                    "running and DATABASE_URL is right.") from None
            log.warning("the database is not reachable yet (%s); trying again in %.0f s", _reason(exc),
                        min(delay, remaining))
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 8.0)


def _reason(exc: BaseException) -> str:
    """The driver's cause without the address ("Connection refused", "timeout expired")."""
    cause = exc.__cause__ or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return text.rsplit("failed: ", 1)[-1].strip() or type(cause).__name__


def with_user(url: str, user: str) -> str:
    """The same server and database, another role (the embedded runtime role logs in over the private socket)."""
    return psycopg.conninfo.make_conninfo(url, user=user)


def user_of(url: str) -> str | None:
    return psycopg.conninfo.conninfo_to_dict(url).get("user")


RUNTIME_ONLY = ("This bot replica runs with the runtime database role only, which cannot {what}. Do it with `hrbot` "
                "where the owner's database URL is configured (the worker or the migration host).")


class _RefusedOwner:
    """A runtime-only replica's owner: any owner work (an import, an ingestion, a source run) is one kind refusal
    instead of a permission error from PostgreSQL."""

    url = None
    owner_access = False

    def connection(self, timeout: float = 10.0):
        raise NotPermitted(RUNTIME_ONLY.format(what="change the knowledge base, the records or the settings"))

    long_connection = connection

    def close(self) -> None:
        pass


class Database:
    """Owns the server handle (embedded or external URL) and one connection pool.

    `owner` is the Database that imports, ingestion, re-embedding and the privacy commands write through: a
    second pool as the owning role when the runtime role is a different one (the embedded default, or
    HRBOT_OWNER_DATABASE_URL), else this Database itself."""

    def __init__(self, url: str, *, search_ef: int = 100, server: EmbeddedServer | None = None,
                 pool_size: int = 8, owner: "Database | None" = None):
        self.url = url
        self.server = server
        self._search_ef = search_ef
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self.owner = owner or self
        self.runtime_role: str | None = None
        self._binding_key: roles.BindingKey | None = None
        self.owner_access = True  # False in a runtime-only replica: owner work is refused kindly (require_owner)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True, rebuild=None) -> "Database":
        server = None
        url = settings.database_url
        owner_url = settings.owner_database_url or url
        runtime_role = None
        if not url:
            server = start_embedded_server(settings.data_path)
            owner_url = embedded_url(server)
            with connect(owner_url, autocommit=True) as conn:
                roles.create_runtime_role(conn)
            url, runtime_role = with_user(owner_url, roles.RUNTIME_ROLE), roles.RUNTIME_ROLE
        elif owner_url != url:
            runtime_role = user_of(url)
            if not runtime_role:
                raise ConfigurationError("DATABASE_URL must name its user when HRBOT_OWNER_DATABASE_URL is set "
                                         "(it is the runtime role the owner grants to).")
        if settings.runtime_only and server is not None:
            raise ConfigurationError("HRBOT_RUNTIME_ONLY needs DATABASE_URL (the runtime role's): the embedded server "
                                     "is started by the process that owns it.")
        if settings.runtime_only and settings.owner_database_url:
            raise ConfigurationError("HRBOT_RUNTIME_ONLY is for a process without the owner's URL: unset "
                                     "HRBOT_OWNER_DATABASE_URL or HRBOT_RUNTIME_ONLY.")
        given_key = roles.BindingKey.from_secret(settings.binding_key) if settings.binding_key else None
        if settings.runtime_only and given_key is None:
            raise ConfigurationError("HRBOT_RUNTIME_ONLY needs HRBOT_BINDING_KEY, the same key `hrbot db upgrade` "
                                     "was given: the runtime role cannot read the key from the database.")
        owner = cls(owner_url, search_ef=settings.search_ef, server=server, pool_size=2) if owner_url != url else None
        db = cls(url, search_ef=settings.search_ef, server=server, owner=owner)
        db.runtime_role = runtime_role
        db._binding_key = given_key
        wait = settings.db_wait_seconds if server is None else 0.0
        if settings.runtime_only:
            db.owner_access = False
            db.owner = _RefusedOwner()
            if migrate:
                _with_patience(lambda: db.check_replica(), db, wait)
        elif migrate:
            try:
                _with_patience(lambda: upgrade(owner_url, runtime_role, given_key, rebuild=rebuild), db, wait)
            except psycopg.errors.InsufficientPrivilege:
                raise ConfigurationError(
                    f"The database role {user_of(owner_url) or '(DATABASE_URL)'} may not apply the migrations: it "
                    "looks like the runtime role. Give the owner's URL in HRBOT_OWNER_DATABASE_URL, or, for a bot "
                    "replica, set HRBOT_RUNTIME_ONLY=on and HRBOT_BINDING_KEY (README, Database roles).") from None
        return db

    def check_replica(self) -> None:
        """A runtime-only replica's start: the schema must be migrated and the database must check bindings with
        this replica's key; either failure is one line saying what to run."""
        pending = pending_migrations(self.url)
        if pending:
            raise ConfigurationError(f"The database is {len(pending)} migration(s) behind ({pending[-1]}): run "
                                     "`hrbot db upgrade` with the owner's URL (the migration step) first.")
        with connect(self.url) as conn:
            if not roles.key_matches(conn, self.binding_key):
                raise ConfigurationError("HRBOT_BINDING_KEY is not the key the database checks bindings with: give "
                                         "`hrbot db upgrade` and every replica the same key.")

    def require_owner(self, what: str) -> "Database":
        """The owner's Database, or a kind refusal in a runtime-only replica (which must not have the rights)."""
        if not self.owner_access:
            raise NotPermitted(RUNTIME_ONLY.format(what=what))
        return self.owner

    @property
    def binding_key(self) -> roles.BindingKey:
        """The key records bindings are signed with: HRBOT_BINDING_KEY when given, else read once over the owner
        connection."""
        return self.load_binding_key()

    def load_binding_key(self, timeout: float = 10.0) -> roles.BindingKey:
        """binding_key, waiting at most `timeout` for the owner's connection the first time (a Slack ack cannot
        wait long)."""
        if self._binding_key is None:
            with self.owner.connection(timeout=timeout) as conn:
                key = roles.read_binding_key(conn)
            if key is None:
                raise DatabaseUnavailable("The database has no records key yet: run `hrbot db upgrade` as the owner.")
            self._binding_key = key
        return self._binding_key

    def explain(self, exc: BaseException, crash_wait: float = 1.0) -> BaseException:
        """The error to raise for exc: a DatabaseCrashed naming the signal and the server log when an embedded
        server process died (not "server closed the connection unexpectedly"), else exc itself."""
        if self.server is not None and isinstance(exc, (psycopg.OperationalError, DatabaseUnavailable)):
            return self.server.crash_error(wait=crash_wait) or exc
        return exc

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = ConnectionPool(
                self.url, min_size=1, max_size=self._pool_size, configure=_configure(self._search_ef),
                # A restarted server (after a crash, a failover) leaves dead connections in the pool:
                # check each one as it is handed out and replace it if it no longer answers.
                check=ConnectionPool.check_connection, open=False, name="hrbot", reconnect_timeout=60)
            # Don't wait here: connection() waits (with its own deadline) for a usable connection.
            self._pool.open(wait=False)
        return self._pool

    @contextmanager
    def connection(self, timeout: float = 10.0) -> Iterator[psycopg.Connection]:
        """A pooled connection: commits on success, rolls back on error, and is always returned. A server that
        goes away (before or during the work) is a DatabaseUnavailable, never a raw driver error; `timeout`
        also bounds the wait for a crash report."""
        pool = self.pool
        crash_wait = min(1.0, timeout / 4)
        try:
            conn = pool.getconn(timeout=timeout)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise self._unreachable(exc, crash_wait) from exc
        try:
            with self._transaction(conn, crash_wait):
                yield conn
        finally:
            pool.putconn(conn)

    @contextmanager
    def long_connection(self, timeout: float = 10.0) -> Iterator[psycopg.Connection]:
        """A connection of its own, outside the pool, configured like the pool's, for work that holds one
        transaction for minutes (a records sync reading 100,000 employees from an HR system): the pool's few
        connections (the owner's has two) stay free for uploads and other jobs. Commits, rolls back and
        translates errors as connection() does; always closed."""
        crash_wait = min(1.0, timeout / 4)
        try:
            conn = psycopg.connect(self.url, connect_timeout=max(1, int(timeout)))
            _configure(self._search_ef)(conn)
        except psycopg.OperationalError as exc:
            raise self._unreachable(exc, crash_wait) from exc
        try:
            with self._transaction(conn, crash_wait):
                yield conn
        finally:
            conn.close()

    def _unreachable(self, exc: Exception, crash_wait: float) -> Exception:
        log.warning("no database connection: %s", exc)
        error = self.explain(exc, crash_wait)
        return error if error is not exc else DatabaseUnavailable("The database is not reachable right now.")

    @contextmanager
    def _transaction(self, conn: psycopg.Connection, crash_wait: float) -> Iterator[None]:
        try:
            yield
            if not conn.closed:
                conn.commit()
        except BaseException as exc:
            if not conn.closed and not conn.broken:
                conn.rollback()
            error = self.explain(exc, crash_wait)
            if error is not exc:
                raise error from exc
            if isinstance(exc, psycopg.errors.DiskFull):
                log.error("the database's disk is full: %s", exc)
                raise DiskFull(DISK_FULL) from exc
            if isinstance(exc, psycopg.OperationalError) and (conn.closed or conn.broken):
                log.warning("the database went away mid-transaction: %s", exc)
                raise DatabaseUnavailable("The database is not reachable right now.") from exc
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self.owner is not self:
            self.owner.close()
