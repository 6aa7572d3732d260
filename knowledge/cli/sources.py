"""`hrbot sources add|list|remove|run`: where documents live, pulled on a schedule."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from knowledge.cli.common import checked_audience, cli_actor, echo_json, runtime_of
from knowledge.sources.store import parse_every


@click.group("sources")
def sources_group() -> None:
    """Scheduled sources: folders and web pages (a list of URLs or a sitemap), synced by `hrbot serve` or
    `hrbot worker` on their schedule; changed items are re-ingested, deleted ones retired."""


@sources_group.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(["folder", "web"]), required=True)
@click.option("--path", "folder", default=None, help="folder: the directory to mirror.")
@click.option("--url", "urls", multiple=True, help="web: a page to keep (repeat for more).")
@click.option("--sitemap", default=None, help="web: a sitemap.xml (or sitemap index) listing the pages.")
@click.option("--auth-header", default=None,
              help="web: env:VARIABLE or file:/path holding the Authorization header value (never the value).")
@click.option("--every", "every", default="6h", show_default=True, help="How often: 30m, 6h, 1d ...")
@click.option("--audience", default=None, help="Limit its documents to one location code; default everyone.")
@click.pass_context
def sources_add(ctx, name, kind, folder, urls, sitemap, auth_header, every, audience) -> None:
    """Add a source; its first run is due at once (or run it now with `hrbot sources run NAME`)."""
    from knowledge.errors import ConfigurationError

    if kind == "folder":
        if not folder:
            raise ConfigurationError("A folder source needs --path.")
        settings = {"path": folder}
    else:
        if not urls and not sitemap:
            raise ConfigurationError("A web source needs --url (one or more) or --sitemap.")
        settings = {"urls": list(urls), **({"sitemap": sitemap} if sitemap else {}),
                    **({"auth_header": auth_header} if auth_header else {})}
    rt = runtime_of(ctx)
    audience = checked_audience(rt, audience)
    source = rt.assistant.sources.add(name, kind, settings, parse_every(every), audience, cli_actor())
    click.echo(f"Added source {source.name} ({source.kind}, every {every}).")


@sources_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sources_list(ctx, as_json) -> None:
    """Each source with its schedule and status: last run, last success, what changed, last error."""
    sources = runtime_of(ctx).assistant.sources.list()
    now = datetime.now(timezone.utc)
    if as_json:
        echo_json([{"name": s.name, "kind": s.kind, "every_seconds": s.every_seconds, "audience": s.audience,
                    "last_run_at": s.last_run_at, "last_success_at": s.last_success_at, "last_error": s.last_error,
                    "failures": s.failures, "last_changes": s.last_changes, "stale": s.stale(now),
                    "next_run_at": s.next_run_at} for s in sources])
        return
    if not sources:
        click.echo("No sources yet: `hrbot sources add NAME --kind folder --path DIR` or --kind web --url URL.")
        return
    for s in sources:
        changes = ", ".join(f"{k} {v}" for k, v in (s.last_changes or {}).items()) or "no run yet"
        status = "STALE " if s.stale(now) else ""
        click.echo(f"{s.name:20} {s.kind:7} every {s.every_seconds // 60} min  {status}"
                   f"last success {_when(s.last_success_at)}  ({changes})"
                   + (f"\n{'':20} last error ({s.failures} in a row): {s.last_error}" if s.last_error else ""))


@sources_group.command("remove")
@click.argument("name")
@click.option("--keep-documents", is_flag=True, help="Keep the documents it brought in (they stop updating).")
@click.pass_context
def sources_remove(ctx, name, keep_documents) -> None:
    """Remove a source; its documents are retired at once unless --keep-documents."""
    retired = runtime_of(ctx).assistant.remove_source(name, keep_documents, cli_actor())
    click.echo(f"Removed source {name}" + ("." if keep_documents else f"; retired {retired} documents."))


@sources_group.command("run")
@click.argument("names", nargs=-1)
@click.pass_context
def sources_run(ctx, names) -> None:
    """Run sources now (all of them when none is named). Exit status 1 if any run failed."""
    results = runtime_of(ctx).assistant.run_sources(list(names) or None)
    failed = False
    for r in results:
        if r.status == "busy":
            click.echo(f"{r.source}: already running elsewhere; skipped.")
        elif r.status == "failed":
            failed = True
            click.echo(f"{r.source}: FAILED ({r.failures} in a row): {r.error}")
        else:
            click.echo(f"{r.source}: " + ", ".join(f"{k} {v}" for k, v in r.changes.items()))
    if failed:
        ctx.exit(1)


def _when(moment) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "never"
