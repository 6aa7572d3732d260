"""`hrbot` with the Slack commands added: the console script's entry point (knowledge.cli stays Slack-free)."""
from __future__ import annotations

import click

from knowledge.cli import build_cli, main as knowledge_main
from knowledge.cli.chat import demo
from knowledge.cli.common import runtime_of
from knowledge.errors import ConfigurationError


REDELIVERY_SECONDS = 10.0


def _supervise(rt):
    """The embedded server, kept up while this long-running process lives (None with DATABASE_URL: a managed
    server has its own supervision, and the pool reconnects to it by itself)."""
    server = rt.db.server
    if server is None:
        return None
    from knowledge.database.embedded import Supervisor

    supervisor = Supervisor(server)
    supervisor.start()
    return supervisor


def _supervision(supervisor) -> dict:
    if supervisor is None:
        return {}
    return {"database_restarts": supervisor.restarts, **({"database_error": supervisor.last_error}
                                                         if supervisor.last_error else {})}


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
    from bot.app import build_bot, redeliver
    from bot.server import serve_http, serve_socket_mode

    rt = runtime_of(ctx)
    settings = rt.settings
    supervisor = _supervise(rt)
    rt.embeddings  # load the models before the first question, not during it
    if rt.multilingual is not None:
        rt.multilingual.warm()
    bot = build_bot(rt.assistant)
    from knowledge.operations.jobs import every, retry_stalled

    if not rt.db.owner_access:  # a runtime-only replica: owner work (jobs, retention, sources) runs in `hrbot worker`
        no_worker = True
    else:
        every(24 * 3600, rt.assistant.prune, "hrbot-retention")  # the question log's retention, daily
        every(3600, rt.assistant.complete_vectors, "hrbot-vectors")  # passages stored before the multilingual model
    every(3600, rt.answers.warm_quotes, "hrbot-quotes")  # sentence vectors for the offline answerer's quotes
    # Events whose process died or stopped before answering them: answered here once their lease ends.
    redelivery = every(REDELIVERY_SECONDS, lambda: redeliver(bot), "hrbot-redelivery")
    # Askers whose answers could not get through while Slack was unreachable: told to ask again once it is back.
    from bot.patience import tell_undelivered

    notices = every(REDELIVERY_SECONDS, lambda: tell_undelivered(rt.assistant.events, bot.app.client),
                    "hrbot-undelivered")

    def no_new_work() -> None:  # stopping: this process takes no more redeliveries or notices
        redelivery.set()
        notices.set()
    worker = None if no_worker else bot.jobs.start_thread()[1]
    if not no_worker:
        every(60, bot.jobs.run_due_sources, "hrbot-sources")  # scheduled sources (issue 11)
        every(60, lambda: retry_stalled(rt.db), "hrbot-stalled-jobs")  # jobs of a worker that died mid-job

    # /readyz says whether Slack's Web API is usable too (checked every minute, not per probe).
    slack_state = {"slack": "not checked yet"}

    def check_slack() -> None:
        from bot.app import whoami

        try:
            whoami(bot.app.client, settings.slack_api_url, 0.0)
            slack_state["slack"] = "ok"
        except Exception as exc:
            slack_state["slack"] = f"unusable: {exc}"[:200]

    every(60, check_slack, "hrbot-slack-check")
    model_state = {"model": getattr(rt.embeddings, "model_name", "embeddings") + " loaded"}

    def details() -> dict:
        return {**model_state, **slack_state, **_worker_details()}

    def _worker_details() -> dict:
        if worker is None:
            return {"worker": "elsewhere (hrbot worker)", **_supervision(supervisor)}
        return {"worker": "running" if worker.running else "restarting", "worker_restarts": worker.restarts,
                **_supervision(supervisor)}
    from knowledge.operations.metrics import register_state

    def gauges() -> dict:
        found = {"hrbot_worker_restarts": ("Restarts of this process's job worker after an outage",
                                           worker.restarts if worker is not None else 0)}
        if supervisor is not None:
            found["hrbot_database_restarts"] = ("Restarts of the embedded database by this process",
                                                supervisor.restarts)
        return found

    register_state(rt.db, gauges)
    if http_mode or not settings.slack_app_token:
        if not settings.slack_signing_secret:
            raise ConfigurationError("HTTP mode needs SLACK_SIGNING_SECRET to verify requests from Slack.")
        handed_back = serve_http(bot.app, host, port or settings.http_port, rt.assistant.healthy, details, listeners=bot.listeners,
                   hand_back=rt.assistant.events.hand_back, on_stop=no_new_work,
                   drain=settings.drain_seconds)
    else:
        click.echo("Connecting to Slack (Socket Mode)...")
        handed_back = serve_socket_mode(bot.app, settings.slack_app_token, listeners=bot.listeners,
                                        hand_back=rt.assistant.events.hand_back, on_stop=no_new_work,
                                        drain=settings.drain_seconds)
    if handed_back:
        # The unfinished answers belong to another process now: don't let their threads (which Python would
        # wait for at exit) finish them too, or past the orchestrator's grace period.
        import logging
        import os

        logging.shutdown()
        os._exit(0)


@click.command()
@click.option("--once", is_flag=True, help="Run the jobs waiting now, then exit.")
@click.pass_context
def worker(ctx, once) -> None:
    """Run background jobs (ingesting files shared in Slack) for `hrbot serve --no-worker` replicas.

    It needs the bot token to download files and reply, but not the Bolt app: nothing is called at start.
    """
    from bot.app import build_client
    from bot.jobs import SlackJobs

    rt = runtime_of(ctx)
    if not once:
        _supervise(rt)
    rt.embeddings
    jobs = SlackJobs(rt.assistant, build_client(rt.settings))
    if once:
        jobs.run_pending()
    else:
        from knowledge.operations.jobs import every, retry_stalled

        every(24 * 3600, rt.assistant.prune, "hrbot-retention")
        every(3600, rt.assistant.complete_vectors, "hrbot-vectors")
        every(60, jobs.run_due_sources, "hrbot-sources")  # scheduled sources, one run per source at a time
        every(60, lambda: retry_stalled(rt.db), "hrbot-stalled-jobs")
        click.echo("Working on background jobs (Ctrl-C to stop)...")
        jobs.run_forever()


@click.command()
@click.pass_context
def start(ctx) -> None:
    """The product on its defaults: sample content on first run, then Slack if tokens are set, else a chat."""
    rt = runtime_of(ctx)
    if not rt.settings.slack_configured:
        ctx.invoke(demo)
        return
    click.echo("Checking the knowledge base (an empty one gets the sample company's documents and records)...")
    if rt.assistant.load_samples_if_empty():
        click.echo("Loaded the sample company.")
    ctx.invoke(serve)


from bot.doctor import doctor  # noqa: E402  (after the commands it sits beside)

SLACK_COMMANDS = [serve, worker, start, doctor]
cli = build_cli(SLACK_COMMANDS)  # the whole `hrbot`, as the console script runs it


def main(argv: list[str] | None = None, obj=None) -> None:
    knowledge_main(argv, obj, extra_commands=SLACK_COMMANDS)
