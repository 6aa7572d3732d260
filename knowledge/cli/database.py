"""`hrbot db`: the schema's migrations."""
from __future__ import annotations

import click

from knowledge.cli.common import runtime_of


@click.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations (infra/migrations, shipped in the package) as the owner, and grant the runtime
    role what it needs; safe to run repeatedly."""
    from knowledge.database.connection import upgrade

    from knowledge.database.roles import BindingKey
    from knowledge.errors import ConfigurationError

    rt = runtime_of(ctx)
    if rt.settings.runtime_only:
        raise ConfigurationError("`hrbot db upgrade` needs the owner's URL; this process is HRBOT_RUNTIME_ONLY.")
    db = rt.unmigrated_db()
    key = BindingKey.from_secret(rt.settings.binding_key) if rt.settings.binding_key else None
    notes: list[str] = []
    from knowledge.runtime import rebuild_after_new_key

    applied = upgrade(db.owner.url, db.runtime_role, key, notes, rebuild=rebuild_after_new_key)
    click.echo("Applied: " + ", ".join(applied) if applied else "Database schema is up to date.")
    for note in notes:
        click.echo(note)
    _store_missing_sentences(rt)


def _store_missing_sentences(rt) -> None:
    """Passages stored before the sentence store (migration 0019) get their sentences' vectors now: SQL cannot
    embed, so the upgrade that adds the table fills it, as the owner with the configured model. Otherwise every
    fresh process embeds those passages' sentences while answering until the worker's hourly job runs (found by
    an outside review). A no-op query when nothing is missing."""
    from knowledge.search import sentences

    with rt.db.connection() as conn:
        unstored = sentences.missing(conn)
    if unstored:
        click.echo(f"Storing the sentence vectors of {unstored} passages stored before this version...")
        stored = sentences.fill(rt.db, rt.embeddings, rt.multilingual)
        click.echo(f"Stored the sentences of {stored} passages.")


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """List migrations and whether each is applied."""
    from knowledge.database.connection import migration_status

    for name, applied in migration_status(runtime_of(ctx).unmigrated_db().owner.url):
        click.echo(f"{'applied' if applied else 'pending':8} {name}")
