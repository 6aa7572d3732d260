"""`hrbot admin` and `hrbot audit`: HR admins and the audit log."""
from __future__ import annotations

import click

from knowledge.cli.common import cli_actor, echo_json, runtime_of


@click.group("admin")
def admin_group() -> None:
    """HR admins (in addition to HRBOT_ADMINS)."""


@admin_group.command("add")
@click.argument("slack_user_id")
@click.pass_context
def admin_add(ctx, slack_user_id) -> None:
    """Make a Slack user an HR admin."""
    added = runtime_of(ctx).admins.add(slack_user_id.strip().upper(), cli_actor())
    click.echo(f"{slack_user_id} is {'now' if added else 'already'} an HR admin.")


@admin_group.command("remove")
@click.argument("slack_user_id")
@click.pass_context
def admin_remove(ctx, slack_user_id) -> None:
    """Remove an HR admin (those in HRBOT_ADMINS stay until the setting changes)."""
    removed = runtime_of(ctx).admins.remove(slack_user_id.strip().upper(), cli_actor())
    click.echo(f"{slack_user_id} {'is no longer' if removed else 'was not'} an HR admin.")


@admin_group.command("list")
@click.pass_context
def admin_list(ctx) -> None:
    """List HR admins and where each comes from."""
    for slack_user_id, added_by, added_at in runtime_of(ctx).admins.list():
        click.echo(f"{slack_user_id:14} {added_by or ''} {added_at or ''}".rstrip())


@click.command("audit")
@click.option("--days", type=click.IntRange(1, 3650), default=7, show_default=True, help="How far back.")
@click.option("--actor", default=None, help="Only this actor (a Slack user id, cli:<user>, sync:<folder>).")
@click.option("--action", default=None, help="Only this action (ingest, remove, read_records, ...).")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_cmd(ctx, days, actor, action, limit, as_json) -> None:
    """The audit log: admin actions and every read of someone's personal records (who, what, when)."""
    from datetime import datetime, timedelta, timezone

    from knowledge.database.audit import query

    rows = query(runtime_of(ctx).db, datetime.now(timezone.utc) - timedelta(days=days), actor, action, limit)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        details = ", ".join(f"{k}={v}" for k, v in (r["details"] or {}).items() if v is not None)
        click.echo(f"{r['at']:%Y-%m-%d %H:%M:%S}  {r['actor']:18} {r['action']:15} {r['target'] or ''}"
                   + (f"  ({details})" if details else ""))
    if not rows:
        click.echo("No audit entries match.")
