"""`hrbot` administration commands: folder sync, HR admins, the audit log."""
from __future__ import annotations

from pathlib import Path

import click

from knowledge.cli import _cli_actor, _echo_json, _runtime, cli


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--audience", default=None, help="Limit the folder's documents to one country (e.g. GB, DE).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sync(ctx, folder, audience, as_json) -> None:
    """Make the knowledge base match FOLDER: ingest new and changed files, retire files that disappeared.

    Only documents this folder added are ever retired. Safe to run from cron: an overlapping run of the same
    folder exits at once.
    """
    from knowledge.sync import sync_folder

    result = sync_folder(_runtime(ctx).ingestor, folder, audience=audience)
    if as_json:
        _echo_json({"folder": result.folder, "busy": result.skipped_busy, "retired": result.retired,
                    "results": [r.as_dict() for r in result.results]})
    elif result.skipped_busy:
        click.echo(f"Another sync of {result.folder} is running; nothing done.")
    else:
        counts = {s: sum(r.status == s for r in result.results)
                  for s in ("added", "replaced", "unchanged", "rejected", "failed")}
        for r in result.results:
            if r.status in ("rejected", "failed"):
                click.echo(f"  {r.status:9} {r.source}: {r.reason}")
        click.echo(f"{result.folder}: {counts['added']} added, {counts['replaced']} replaced, "
                   f"{counts['unchanged']} unchanged, {counts['rejected'] + counts['failed']} rejected, "
                   f"{len(result.retired)} retired" + (f" ({', '.join(result.retired)})" if result.retired else ""))
    if any(r.status in ("rejected", "failed") for r in result.results):
        ctx.exit(1)


@cli.group("admin")
def admin_group() -> None:
    """HR admins (in addition to HRBOT_ADMINS)."""


@admin_group.command("add")
@click.argument("slack_user_id")
@click.pass_context
def admin_add(ctx, slack_user_id) -> None:
    """Make a Slack user an HR admin."""
    added = _runtime(ctx).admins.add(slack_user_id.strip().upper(), _cli_actor())
    click.echo(f"{slack_user_id} is {'now' if added else 'already'} an HR admin.")


@admin_group.command("remove")
@click.argument("slack_user_id")
@click.pass_context
def admin_remove(ctx, slack_user_id) -> None:
    """Remove an HR admin (those in HRBOT_ADMINS stay until the setting changes)."""
    removed = _runtime(ctx).admins.remove(slack_user_id.strip().upper(), _cli_actor())
    click.echo(f"{slack_user_id} {'is no longer' if removed else 'was not'} an HR admin.")


@admin_group.command("list")
@click.pass_context
def admin_list(ctx) -> None:
    """List HR admins and where each comes from."""
    for slack_user_id, added_by, added_at in _runtime(ctx).admins.list():
        click.echo(f"{slack_user_id:14} {added_by or ''} {added_at or ''}".rstrip())


@cli.command("audit")
@click.option("--days", type=click.IntRange(1, 3650), default=7, show_default=True, help="How far back.")
@click.option("--actor", default=None, help="Only this actor (a Slack user id, cli:<user>, sync:<folder>).")
@click.option("--action", default=None, help="Only this action (ingest, remove, read_records, ...).")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_cmd(ctx, days, actor, action, limit, as_json) -> None:
    """The audit log: admin actions and every read of someone's personal records (who, what, when)."""
    from datetime import datetime, timedelta, timezone

    from knowledge.admin import query

    rows = query(_runtime(ctx).db, datetime.now(timezone.utc) - timedelta(days=days), actor, action, limit)
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        details = ", ".join(f"{k}={v}" for k, v in (r["details"] or {}).items() if v is not None)
        click.echo(f"{r['at']:%Y-%m-%d %H:%M:%S}  {r['actor']:18} {r['action']:15} {r['target'] or ''}"
                   + (f"  ({details})" if details else ""))
    if not rows:
        click.echo("No audit entries match.")


