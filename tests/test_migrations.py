"""Migrations: ordered, recorded, idempotent; the CLI reports them."""
import psycopg

from knowledge.database.connection import migration_files, migration_status, upgrade


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
    from knowledge.database.embedded import embedded_url

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


def test_a_newer_job_queue_migration_reaches_an_existing_database(pg_server, tmp_path):
    """procrastinate ships versioned migrations; an upgraded install must apply the ones the database lacks."""
    from knowledge.database.embedded import embedded_url
    from knowledge.database.job_schema import shipped_migrations, upgrade_job_queue

    url = embedded_url(pg_server, "hrbot_job_queue")
    try:
        upgrade(url)
        with psycopg.connect(url) as conn:
            recorded = {r[0] for r in conn.execute("SELECT name FROM job_queue_migrations")}
        assert recorded == {m.name for m in shipped_migrations()}  # a fresh schema.sql includes them all
        newer = tmp_path / "migrations"
        newer.mkdir()
        for m in shipped_migrations():
            (newer / m.name).write_text(m.read_text())
        (newer / "99.00.00_01_pre_add_probe.sql").write_text(
            "ALTER TABLE procrastinate_jobs ADD COLUMN hrbot_probe integer;")
        with psycopg.connect(url) as conn:
            assert upgrade_job_queue(conn, newer) == ["99.00.00_01_pre_add_probe.sql"]
            assert upgrade_job_queue(conn, newer) == []
            columns = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'procrastinate_jobs'")}
        assert "hrbot_probe" in columns
    finally:
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "hrbot_job_queue" WITH (FORCE)')


def test_a_database_from_the_snapshot_migration_is_baselined(pg_server):
    """Databases whose 0004 applied schema.sql without recording procrastinate's migrations."""
    from knowledge.database.embedded import embedded_url

    url = embedded_url(pg_server, "hrbot_job_queue_old")
    try:
        upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE job_queue_migrations")
        assert upgrade(url) == []  # nothing re-applied over the existing tables
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM job_queue_migrations").fetchone()[0] > 30
    finally:
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "hrbot_job_queue_old" WITH (FORCE)')


def test_the_first_name_digests_reach_a_database_upgraded_before_its_next_import(pg_server):
    """0025 adds no table: applying it rebuilds colleague_names with the key, so a colleague's first name alone is
    recognised ("hat Mara noch") before the next records import writes the digests again."""
    from knowledge.database.embedded import embedded_url
    from knowledge.database.roles import read_binding_key
    from knowledge.people.colleagues import FIRST_NAME_PURPOSE
    from knowledge.runtime import rebuild_after_new_key

    url = embedded_url(pg_server, "hrbot_first_names")
    try:
        upgrade(url, rebuild=rebuild_after_new_key)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO employees (employee_id, name, email, country, fte, hire_date) "
                         "VALUES ('X1', 'Mara Quist', 'mara@example.com', 'GB', 1, '2020-01-01')")
            conn.execute("DELETE FROM colleague_names")  # as an install from before 0025 has them: no first names
            conn.execute("DELETE FROM schema_migrations WHERE name = '0025_first_name_digests.sql'")
        assert upgrade(url, rebuild=rebuild_after_new_key) == ["0025_first_name_digests.sql"]
        with psycopg.connect(url) as conn:
            key = read_binding_key(conn)
            found = conn.execute("SELECT count(*) FROM colleague_names WHERE digest = %s",
                                 (key.mac(FIRST_NAME_PURPOSE, b"mara"),)).fetchone()[0]
        assert found == 1
    finally:
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
            conn.execute('DROP DATABASE "hrbot_first_names" WITH (FORCE)')
