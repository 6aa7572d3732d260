"""`hrbot` with the Slack commands added: the console script's entry point (knowledge.cli stays Slack-free)."""
from __future__ import annotations

import click

from knowledge.cli import build_cli, main as knowledge_main
from knowledge.cli.chat import demo
from knowledge.cli.common import runtime_of
from knowledge.errors import ConfigurationError


@click.command()
@click.option("--http", "http_mode", is_flag=True, help="Serve the HTTP Events API instead of Socket Mode.")
@click.option("--port", type=int, default=None, help="Port for --http (default HRBOT_HTTP_PORT, 3000).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface for --http.")
@click.option("--no-worker", is_flag=True, help="Don't run background jobs here (run `hrbot worker` separately).")
@click.pass_context
def serve(ctx, http_mode, port, host, no_worker) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else (or with --http) the Events API.

    HTTP mode serves POST /slack/events (signature-checked) and GET /healthz.
    """
    from bot.app import build_app
    from bot.server import serve_http, serve_socket_mode

    rt = runtime_of(ctx)
    settings = rt.settings
    rt.embeddings  # load the model before the first question, not during it
    app = build_app(rt)
    if not no_worker:
        from knowledge.jobs import start_worker_thread

        start_worker_thread(app._hrbot_services.job_app)
    if http_mode or not settings.slack_app_token:
        if not settings.slack_signing_secret:
            raise ConfigurationError("HTTP mode needs SLACK_SIGNING_SECRET to verify requests from Slack.")
        serve_http(app, host, port or settings.http_port)
    else:
        click.echo("Connecting to Slack (Socket Mode)...")
        serve_socket_mode(app, settings.slack_app_token)


@click.command()
@click.option("--once", is_flag=True, help="Run the jobs waiting now, then exit.")
@click.pass_context
def worker(ctx, once) -> None:
    """Run background jobs (ingesting files shared in Slack) for `hrbot serve --no-worker` replicas."""
    from bot.app import build_app
    from knowledge.jobs import INGEST_QUEUE, run_pending

    rt = runtime_of(ctx)
    rt.embeddings
    job_app = build_app(rt)._hrbot_services.job_app
    if once:
        run_pending(job_app)
    else:
        click.echo("Working on background jobs (Ctrl-C to stop)...")
        job_app.run_worker(queues=[INGEST_QUEUE], wait=True, delete_jobs="successful")


@click.command()
@click.pass_context
def start(ctx) -> None:
    """The product on its defaults: sample content on first run, then Slack if tokens are set, else a chat."""
    from knowledge.store import KB_COUNTS

    rt = runtime_of(ctx)
    if not rt.settings.slack_configured:
        ctx.invoke(demo)
        return
    with rt.db.connection() as conn:
        documents = conn.execute(KB_COUNTS).fetchone()[0]
    if documents == 0:
        click.echo("Empty knowledge base: loading the sample company's documents and records...")
        rt.load_samples()
    ctx.invoke(serve)


SLACK_COMMANDS = [serve, worker, start]
cli = build_cli(SLACK_COMMANDS)  # the whole `hrbot`, as the console script runs it


def main(argv: list[str] | None = None, obj=None) -> None:
    knowledge_main(argv, obj, extra_commands=SLACK_COMMANDS)
