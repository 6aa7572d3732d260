"""Migrations: ordered, recorded, idempotent; the CLI reports them."""
import psycopg

from knowledge.db import migration_files, migration_status, upgrade


def test_upgrade_is_idempotent_and_recorded(database_url):
    assert upgrade(database_url) == []  # the session fixture already applied everything
    status = migration_status(database_url)
    assert [name for name, _ in status] == [m.name for m in migration_files()]
    assert all(applied for _, applied in status)
    with psycopg.connect(database_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        extensions = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    assert {"documents", "chunks", "lexicon", "embedding_space", "schema_migrations"} <= tables
    assert {"vector", "pg_trgm"} <= extensions


def test_fresh_database_gets_every_migration(pg_server):
    from knowledge.db import embedded_url

    url = embedded_url(pg_server, "hrbot_migrations_fresh")
    try:
        applied = upgrade(url)
        assert applied == [m.name for m in migration_files()]
        assert upgrade(url) == []
    finally:
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
            conn.execute('DROP DATABASE "hrbot_migrations_fresh" WITH (FORCE)')


def test_cli_db_commands(invoke):
    result = invoke("db", "upgrade")
    assert result.exit_code == 0 and "up to date" in result.output
    result = invoke("db", "status")
    assert "applied  0001_knowledge.sql" in result.output
