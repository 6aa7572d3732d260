"""`hrbot` with the Slack commands added: the console script's entry point (knowledge.cli stays Slack-free)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import click

from knowledge.cli import build_cli, main as knowledge_main
from knowledge.cli.chat import demo
from knowledge.cli.common import runtime_of
from knowledge.errors import ConfigurationError



def _supervise(rt):
    """The embedded server, kept up while this long-running process lives (None with DATABASE_URL: a managed
    server has its own supervision, and the pool reconnects to it by itself)."""
    server = rt.db.server
    if server is None:
        return None
    from knowledge.database.supervisor import Supervisor

    supervisor = Supervisor(server)
    supervisor.start()
    return supervisor


def _supervision(supervisor) -> dict:
    if supervisor is None:
        return {}
    return {"database_restarts": supervisor.restarts, **({"database_error": supervisor.last_error}
                                                         if supervisor.last_error else {})}


def _leave(code: int, run_exit_handlers: bool = True, server=None, supervisor=None) -> None:
    """End a long-running process once its work is finished, without interpreter finalization.

    At finalization CPython 3.11 makes every daemon thread that next asks for the GIL call pthread_exit(), which
    unwinds its stack; a thread inside torch (a bulk embedding: an upload, the vectors job) unwinds through a
    C++ noexcept frame and libstdc++ calls std::terminate: SIGABRT, exit status -6, after a clean drain. So what
    a normal exit must do is done here (the supervisor stopped, the exit handlers run: the embedded server's stop
    among them), the logs and streams are flushed, and the process ends with os._exit, which stops every other
    thread where it stands."""
    import atexit
    import logging
    import os
    import sys

    if supervisor is not None:
        supervisor.stop()  # or it would start again the embedded server the exit handlers stop
    if run_exit_handlers:
        try:
            # Not threading._shutdown(): the answers were drained (or handed back) by the server, and what else
            # runs in a thread is a job (a source that drips its answer for minutes): waiting for it would outlast
            # the grace period. A job left mid-run is taken again by stalled-job recovery.
            atexit._run_exitfuncs()
        except Exception:  # an exit handler failing must not turn a clean stop into a crash
            logging.getLogger(__name__).exception("an exit handler failed")
    elif server is not None:
        # Answers were handed back: their threads must not finish them too (so no waiting for threads and no exit
        # handlers), but the embedded server this process started is still stopped, not left behind.
        try:
            server.cleanup()
        except Exception:
            logging.getLogger(__name__).exception("stopping the embedded database failed")
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


@dataclass
class _Serving:
    """What `hrbot serve` built and runs: the runtime, the Slack bot, the embedded server's supervisor and the
    job worker's thread; `details` is what /readyz adds to the database check."""
    rt: object
    bot: object
    supervisor: object
    worker: object
    details: Callable[[], dict]


@click.command()
@click.option("--http", "http_mode", is_flag=True, help="Serve the HTTP Events API instead of Socket Mode.")
@click.option("--port", type=int, default=None, help="Port for --http (default HRBOT_HTTP_PORT, 3000).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface for --http.")
@click.option("--no-worker", is_flag=True, help="Don't run background jobs here (run `hrbot worker` separately).")
@click.pass_context
def serve(ctx, http_mode, port, host, no_worker) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else (or with --http) the Events API.

    HTTP mode serves POST /slack/events (signature-checked), GET /healthz, /readyz and /metrics, and
    POST /webhooks/<name>.
    """
    rt = runtime_of(ctx)
    serving = _build_serving(rt, owner_work=rt.db.owner_access and not no_worker)
    if _http_mode_chosen(rt.settings, http_mode):
        handed_back = _run_http(serving, host, port or rt.settings.http_port)
    else:
        handed_back = _run_socket_mode(serving)
    # The unfinished answers handed back belong to another process now: don't let their threads finish them too
    # (no exit handler runs then, and the embedded server is left to the next process).
    _leave(0, run_exit_handlers=not handed_back, server=rt.db.server, supervisor=serving.supervisor)


def _http_mode_chosen(settings, http_flag: bool) -> bool:
    """HTTP mode with --http or without an app token (Socket Mode needs one); it needs the signing secret."""
    if not (http_flag or not settings.slack_app_token):
        return False
    if not settings.slack_signing_secret:
        raise ConfigurationError("HTTP mode needs SLACK_SIGNING_SECRET to verify requests from Slack.")
    return True


def _build_serving(rt, owner_work: bool) -> _Serving:
    """Everything before the first event: the database kept up, the models loaded (not during the first
    question), the Bolt app, the job worker, and what /readyz and /metrics report."""
    from bot.app import build_bot
    from knowledge.operations.jobs import every

    supervisor = _supervise(rt)
    rt.embeddings  # load the models before the first question, not during it
    if rt.multilingual is not None:
        rt.multilingual.warm()
    bot = build_bot(rt)
    # The job queue's worker: scheduled work (sources, retention, stalled jobs) and uploads where this process has
    # the owner's URL and was not told --no-worker; always the Slack queue (events whose lease ran out are
    # answered again through this process's Bolt app). A runtime-only replica leaves the owner's work to
    # `hrbot worker`.
    worker = bot.jobs.start_thread(bot.jobs.queues(owner=owner_work, slack=True))[1]
    details = _readiness_details(rt, bot, worker, supervisor, owner_work)
    _register_gauges(rt, worker, supervisor)
    return _Serving(rt, bot, supervisor, worker, details)


def _readiness_details(rt, bot, worker, supervisor, owner_work: bool) -> Callable[[], dict]:
    """/readyz's details: the model, Slack's Web API (checked every minute, not per probe), the worker and the
    embedded database's restarts."""
    from knowledge.operations.jobs import every

    slack_state = {"slack": "not checked yet"}

    def check_slack() -> None:
        from bot.app import whoami

        try:
            whoami(bot.app.client, rt.settings.slack_api_url, 0.0)
            slack_state["slack"] = "ok"
        except Exception as exc:
            slack_state["slack"] = f"unusable: {exc}"[:200]

    every(60, check_slack, "hrbot-slack-check")
    model_state = {"model": getattr(rt.embeddings, "model_name", "embeddings") + " loaded"}

    def details() -> dict:
        return {**model_state, **slack_state,
                "worker": ("running" if worker.running else "restarting")
                + ("" if owner_work else " (Slack queue only; uploads and sources: hrbot worker)"),
                "worker_restarts": worker.restarts, **_supervision(supervisor)}

    return details


def _register_gauges(rt, worker, supervisor) -> None:
    from knowledge.operations.metrics import register_state

    def gauges() -> dict:
        found = {"hrbot_worker_restarts": ("Restarts of this process's job worker after an outage",
                                           worker.restarts)}
        if supervisor is not None:
            found["hrbot_database_restarts"] = ("Restarts of the embedded database by this process",
                                                supervisor.restarts)
        return found

    register_state(rt.db, gauges)


def _run_http(serving: _Serving, host: str, port: int) -> int:
    """The Events API until SIGTERM; returns how many unfinished answers were handed back."""
    from bot.server import serve_http

    rt, bot = serving.rt, serving.bot
    return serve_http(bot.app, host, port, bot.operations.healthy, serving.details, listeners=bot.listeners,
                      hand_back=bot.desk.events.hand_back, on_stop=bot.jobs.stop_taking_slack_work,
                      drain=rt.settings.drain_seconds, webhooks=bot.webhooks)


def _run_socket_mode(serving: _Serving) -> int:
    """Socket Mode until SIGTERM; returns how many unfinished answers were handed back."""
    from bot.server import serve_socket_mode

    rt, bot = serving.rt, serving.bot
    click.echo("Connecting to Slack (Socket Mode)...")
    return serve_socket_mode(bot.app, rt.settings.slack_app_token, listeners=bot.listeners,
                             hand_back=bot.desk.events.hand_back, on_stop=bot.jobs.stop_taking_slack_work,
                             drain=rt.settings.drain_seconds)


@click.command()
@click.option("--once", is_flag=True, help="Run the jobs waiting now, then exit.")
@click.pass_context
def worker(ctx, once) -> None:
    """Run background jobs (ingesting files shared in Slack) for `hrbot serve --no-worker` replicas.

    It needs the bot token to download files and reply, but not the Bolt app: nothing is called at start.
    """
    from bot.app import build_client, build_jobs

    rt = runtime_of(ctx)
    if not once:
        _supervise(rt)
    if not rt.db.owner_access:
        raise ConfigurationError("`hrbot worker` ingests, imports and runs sources: it needs the owner's URL "
                                 "(HRBOT_OWNER_DATABASE_URL), not HRBOT_RUNTIME_ONLY.")
    rt.embeddings
    jobs = build_jobs(rt, build_client(rt.settings))
    if once:
        jobs.run_pending()
    else:
        # Uploads, each scheduled source as a job of its own (several at once), retention, missing vectors and
        # jobs of a dead worker: procrastinate periodic tasks (knowledge/operations/schedule.py).
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
    from knowledge.desks.operations import OperationsDesk

    if OperationsDesk(rt).load_samples_if_empty():
        click.echo("Loaded the sample company.")
    ctx.invoke(serve)


from bot.doctor import doctor  # noqa: E402  (after the commands it sits beside)

SLACK_COMMANDS = [serve, worker, start, doctor]
cli = build_cli(SLACK_COMMANDS)  # the whole `hrbot`, as the console script runs it


def main(argv: list[str] | None = None, obj=None) -> None:
    knowledge_main(argv, obj, extra_commands=SLACK_COMMANDS)
