"""`hrbot sources add|list|remove|run`: where documents live, pulled on a schedule."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from knowledge.cli.common import checked_audience, cli_actor, echo_json, runtime_of
from knowledge.desks.sources import SourcesDesk
from knowledge.sources.kinds import KINDS
from knowledge.sources.store import parse_every


@click.group("sources")
def sources_group() -> None:
    """Scheduled sources of documents (folders, web pages, Confluence, Notion) and of employee records (BambooHR,
    a SQL query), synced by `hrbot serve` or `hrbot worker` on their schedule; changed documents are re-ingested
    and deleted ones retired, records are written with the CSV import's checks, all or nothing."""


@sources_group.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(list(KINDS)), required=True,
              help="folder, web: documents; confluence, notion: documents via their APIs; bamboohr, sql: records.")
@click.option("--path", "folder", default=None, help="folder: the directory to mirror.")
@click.option("--url", "urls", multiple=True, help="web: a page to keep (repeat for more).")
@click.option("--sitemap", default=None, help="web: a sitemap.xml (or sitemap index) listing the pages.")
@click.option("--auth-header", default=None,
              help="web: env:VARIABLE or file:/path holding the Authorization header value (never the value).")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A TOML or JSON file with the kind's settings (see the README, Sources).")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="One setting (repeat); a dotted key fills a table: --set leave_types.Vacation=annual. "
                   "Credentials as env:VARIABLE or file:/path.")
@click.option("--every", "every", default="6h", show_default=True, help="How often: 30m, 6h, 1d ...")
@click.option("--audience", default=None, help="Limit its documents to one location code; default everyone.")
@click.pass_context
def sources_add(ctx, name, kind, folder, urls, sitemap, auth_header, settings_file, pairs, every, audience) -> None:
    """Add a source; its first run is due at once (or run it now with `hrbot sources run NAME`)."""
    from knowledge.errors import ConfigurationError

    settings = read_settings(settings_file) if settings_file else {}
    for pair in pairs:
        set_dotted(settings, pair)
    if kind == "folder":
        settings.setdefault("path", folder)
        if not settings["path"]:
            raise ConfigurationError("A folder source needs --path.")
    elif kind == "web":
        settings = {"urls": list(urls), **settings, **({"sitemap": sitemap} if sitemap else {}),
                    **({"auth_header": auth_header} if auth_header else {})}
        if not settings["urls"] and not settings.get("sitemap"):
            raise ConfigurationError("A web source needs --url (one or more) or --sitemap.")
    elif not settings:
        raise ConfigurationError(f"A {kind} source needs its settings (--settings FILE or --set KEY=VALUE); "
                                 "the README's Sources section lists them.")
    rt = runtime_of(ctx)
    audience = checked_audience(rt, audience)
    source = SourcesDesk(rt).add(name, kind, settings, parse_every(every), audience, cli_actor())
    click.echo(f"Added source {source.name} ({source.kind}, every {every}).")


@sources_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sources_list(ctx, as_json) -> None:
    """Each source with its schedule and status: last run, last success, what changed, last error."""
    sources = SourcesDesk(runtime_of(ctx)).list()
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
        click.echo(f"{s.name:20} {s.kind:10} every {s.every_seconds // 60} min  {status}"
                   f"last success {_when(s.last_success_at)}  ({changes})"
                   + (f"\n{'':20} last error ({s.failures} in a row): {s.last_error}" if s.last_error else ""))


@sources_group.command("remove")
@click.argument("name")
@click.option("--keep-documents", is_flag=True, help="Keep the documents it brought in (they stop updating).")
@click.pass_context
def sources_remove(ctx, name, keep_documents) -> None:
    """Remove a source; its documents are retired at once unless --keep-documents."""
    retired = SourcesDesk(runtime_of(ctx)).remove(name, keep_documents, cli_actor())
    click.echo(f"Removed source {name}" + ("." if keep_documents else f"; retired {retired} documents."))


@sources_group.command("run")
@click.argument("names", nargs=-1)
@click.pass_context
def sources_run(ctx, names) -> None:
    """Run sources now (all of them when none is named). Exit status 1 if any run failed."""
    results = SourcesDesk(runtime_of(ctx)).run(list(names) or None, actor=cli_actor())
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


def read_settings(path: str) -> dict:
    """A kind's settings from a TOML or JSON file (TOML for multi-line SQL queries)."""
    import json
    import tomllib
    from pathlib import Path

    from knowledge.errors import ConfigurationError

    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.endswith(".json") else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path} is not valid {'JSON' if path.endswith('.json') else 'TOML'}: {exc}") from None


def set_dotted(settings: dict, pair: str) -> None:
    """KEY=VALUE into settings; a dotted key nests (leave_types.Vacation=annual); a value that is JSON (true,
    30, ["a","b"]) is taken as JSON, anything else as text."""
    import json

    from knowledge.errors import ConfigurationError

    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise ConfigurationError(f"--set takes KEY=VALUE; got {pair!r}.")
    *parents, last = key.strip().split(".", 1) if key.split(".")[0] in NESTED else [key.strip()]
    target = settings
    for part in parents:
        target = target.setdefault(part, {})
    try:
        target[last] = json.loads(value)
    except ValueError:
        target[last] = value


NESTED = {"leave_types", "locations", "queries", "employment_types"}  # tables whose keys may hold dots or spaces


def _when(moment) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "never"
