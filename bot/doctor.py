"""`hrbot doctor`: is this installation ready? Configuration, profile, database, pgvector, model, Slack, disk.
It lives with the Slack commands because it checks Slack too (knowledge/ never imports Slack)."""
from __future__ import annotations

import shutil

import click

from knowledge.cli.common import runtime_of

MIN_FREE_BYTES = 1 << 30  # 1 GiB for the database and uploads


def _check(name: str, run) -> bool:
    try:
        detail = run()
    except Exception as exc:  # each check reports its own failure; the others still run
        click.echo(f"  FAIL  {name}: {type(exc).__name__}: {exc}".splitlines()[0])
        return False
    click.echo(f"  ok    {name}: {detail}")
    return True


@click.command()
@click.option("--slack/--no-slack", default=True, help="Also call Slack's auth.test with the bot token.")
@click.pass_context
def doctor(ctx, slack) -> None:
    """Check the configuration, the company profile, the database and pgvector, the embedding model, Slack and
    free disk. Exit status 1 if anything fails."""
    rt = runtime_of(ctx)
    checks = []

    def profile():
        p = rt.profile
        return f"{p.name}, {len(p.locations)} locations, {len(p.leave_types)} leave types ({p.source})"

    def database():
        from knowledge.search.sentences import missing

        with rt.db.connection() as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
            vector = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
            documents = conn.execute("SELECT count(*) FROM documents WHERE status = 'active'").fetchone()[0]
            unstored = missing(conn) if vector is not None else 0
        if vector is None:
            raise RuntimeError("the pgvector extension is not installed in this database")
        return (f"PostgreSQL {server}, pgvector {vector[0]}, {documents} documents"
                + (f"; {unstored} passages without stored sentence vectors (answers embed their sentences until "
                   "the worker's hourly complete_vectors job stores them, or run `hrbot reembed`)" if unstored else ""))

    def least_privilege():
        from knowledge.database.roles import role_facts, role_settings

        with rt.db.connection() as conn:
            facts = role_facts(conn)
            planted = role_settings(conn, facts["role"])
        if planted:
            raise RuntimeError(f"the bot's role {facts['role']} carries session defaults of its own ("
                               + ", ".join(planted) + "); nothing of hrbot sets them, and anyone with its password "
                               f"can: run `ALTER ROLE {facts['role']} RESET ALL` as an administrator, then rotate "
                               "its password")
        if facts["superuser"] or facts["bypass_rls"] or facts["owns"]:
            raise RuntimeError(
                f"the bot connects as {facts['role']}, which "
                + ("is a superuser" if facts["superuser"] else "bypasses row-level security" if facts["bypass_rls"]
                   else f"owns {facts['owns']} tables")
                + ": give it a runtime role (README, Database roles)")
        rt.db.binding_key  # noqa: B018 - the key is given (HRBOT_BINDING_KEY) or the owner can read it
        return f"runtime role {facts['role']} owns nothing and is bound by row-level security"

    def model():
        vector = rt.embeddings.embed_query("doctor")
        return f"{getattr(rt.embeddings, 'model_name', 'embeddings')}, {len(vector)} dimensions"

    def chat():
        if not rt.settings.chat_configured:
            return "none configured: the offline answerer quotes passages"
        from knowledge.answering.models import parse_model

        provider, model = parse_model(rt.settings.chat_model, rt.settings.openai_base_url)
        rt.llm  # noqa: B018 - builds the client: a provider package that is not installed is named here
        where = f" at {rt.settings.openai_base_url or 'api.openai.com'}" if provider == "openai" else ""
        return f"{provider}:{model}{where}"

    def slack_auth():
        if not rt.settings.slack_bot_token:
            return "no SLACK_BOT_TOKEN: terminal chat only"
        from bot.app import build_client, whoami

        return f"bot user {whoami(build_client(rt.settings), rt.settings.slack_api_url, 5.0)}"

    def sources():
        from datetime import datetime, timezone

        from knowledge.desks.sources import SourcesDesk
        from knowledge.sources.store import problems

        listed = SourcesDesk(rt).list()
        found = [problem for source in listed for problem in problems(source)]
        if found:
            raise RuntimeError("; ".join(found))
        now = datetime.now(timezone.utc)
        stale = [s.name for s in listed if s.stale(now)]
        return (f"{len(listed)} scheduled, credentials resolve"
                + (f"; stale: {', '.join(stale)} (`hrbot sources list` says why)" if stale else "")
                if listed else "none scheduled")

    def disk():
        path = rt.settings.data_path
        path.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(path).free
        if free < MIN_FREE_BYTES:
            raise RuntimeError(f"only {free / 2**30:.1f} GiB free at {path}")
        return f"{free / 2**30:.1f} GiB free at {path}"

    click.echo("hrbot doctor")
    checks.append(_check("company profile", profile))
    checks.append(_check("database", database))
    checks.append(_check("database role", least_privilege))
    checks.append(_check("embedding model", model))
    checks.append(_check("chat model", chat))
    if slack:
        checks.append(_check("Slack", slack_auth))
    checks.append(_check("sources", sources))
    checks.append(_check("disk", disk))
    if not all(checks):
        click.echo("Something needs attention (see FAIL above).")
        ctx.exit(1)
    click.echo("All good.")
