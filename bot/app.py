"""The Slack bot's parts, built once from the Runtime: the desks (knowledge/desks/), the Bolt app (exactly-once
events, listeners, each given the desks it uses), its Web API client (SLACK_API_URL) and the background jobs.
Everything else goes through the desks."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.jobs import SlackJobs
from bot.listeners import register_listeners
from bot.patience import BoundedRateLimitRetryHandler, ClaimLost, Patience, PatientClient, transient
from bot.services import CLAIM_KEY, BotServices
from bot.webhooks import Webhooks, source_webhooks
from knowledge.desks.admins import AdminDesk
from knowledge.desks.employees import EmployeeDesk
from knowledge.desks.operations import OperationsDesk
from knowledge.desks.privacy import PrivacyDesk
from knowledge.desks.reminders import RemindersDesk
from knowledge.desks.sources import SourcesDesk
from knowledge.errors import ConfigurationError, DatabaseUnavailable, DiskFull
from knowledge.runtime import Runtime

log = logging.getLogger(__name__)
BOLT_LOG = logging.getLogger("bot.bolt")


class _NoBodies(logging.Filter):
    """Bolt logs the whole body of a request that fails the signature check; a forged request's body is
    untrusted and a real one may hold someone's question: keep bodies out of the log at every level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "body:" in message or "body=" in message:
            record.msg, record.args = message.split("body", 1)[0] + "body: (not logged)", None
        return True


BOLT_LOG.addFilter(_NoBodies())
# The verifying middleware logs through a logger of its own, and a parent's filters do not apply to it.
logging.getLogger("slack_bolt.RequestVerification").addFilter(_NoBodies())
WORKERS = 16  # answers in flight at once; each holds a database connection for a few milliseconds


@dataclass
class SlackBot:
    app: App
    services: BotServices
    jobs: SlackJobs
    desk: EmployeeDesk             # its event ledger: claims, leases, hand-back on stopping
    operations: OperationsDesk     # health
    listeners: ThreadPoolExecutor  # where answers run after the ack: drained on shutdown
    webhooks: Webhooks             # POST /webhooks/<name>: the sources whose service notifies (HTTP mode)


def build_client(settings) -> WebClient:
    if not settings.slack_bot_token:
        raise ConfigurationError("SLACK_BOT_TOKEN is not set: the Slack bot needs the app's bot token.")
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                       timeout=settings.slack_timeout)
    # Slack's 429s carry Retry-After: wait that long (at most 20 s) and try again instead of dropping the answer.
    # A 500 or 503 (Slack has bad minutes too) is tried again with backoff; slack_sdk already retries a dropped
    # connection once by default (ConnectionErrorRetryHandler). So one call takes at most about 3 timeouts plus
    # 3 waits of 20 s; an answer's listener waits out a longer outage between calls (bot/patience.py).
    client.retry_handlers.extend([BoundedRateLimitRetryHandler(max_retry_count=3),
                                  ServerErrorRetryHandler(max_retry_count=2)])
    return client


def whoami(client: WebClient, api_url: str, wait: float, *, with_team: bool = False):
    """The bot's user id (auth.test), and with_team its workspace's id too. A network that is not up yet is waited for (a boot, a blip), with
    backoff, for up to `wait` seconds; a refused token or a Slack that stays unreachable is one clear error."""
    import time

    from slack_sdk.errors import SlackApiError

    deadline, delay = time.monotonic() + wait, 0.5
    while True:
        try:
            found = client.auth_test()
            return (found["user_id"], found.get("team_id")) if with_team else found["user_id"]
        except SlackApiError as exc:
            error = exc.response.get("error")
            raise ConfigurationError(f"Slack refused the bot token ({error}): check SLACK_BOT_TOKEN.") from None
        except OSError as exc:  # connection refused, DNS, timeouts (urllib's URLError is an OSError)
            if time.monotonic() + delay > deadline:
                reason = getattr(exc, "reason", exc)
                raise ConfigurationError(f"Can't reach Slack's API at {api_url} ({reason}) after {wait:.0f} s. "
                                         "Check the network, a proxy, or SLACK_API_URL.") from None
            log.warning("Slack's API is not reachable yet (%s); trying again in %.1f s", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 8.0)


ANSWERED_SUBTYPES = (None, "file_share")  # messages the bot acts on; an edit or a deletion it never answers


def answered_kind(event: dict) -> bool:
    """Whether the bot may answer this event: Bolt's Assistant middleware acks message_changed, message_deleted
    and the like in assistant threads without any listener, so a claim taken on them was never finished and came
    back twice, ending in "giving up"."""
    return event.get("type") != "message" or event.get("subtype") in ANSWERED_SUBTYPES


FAILED_KEY = "hrbot_failed"  # set by the error handler: the listener raised (a bug, or Slack refused a call)
UNDELIVERED_KEY = "hrbot_undelivered"  # the listener could not reach Slack (timeouts, connection errors, 5xx)
LOST_KEY = "hrbot_claim_lost"  # the listener's claim was taken by another attempt: it delivered nothing


class HRApp(App):
    """Bolt's App; an event no listener takes is finished at once (Bolt answers it 404 and calls no listener,
    so nothing else would end its claim)."""

    ledger = None

    verified_with: str | None = None  # the signing secret requests are checked with (None: verification off);
    # set where the app is built, so the HTTP front (bot/web.py) checks it before Bolt parses a body

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        response = super().dispatch(req)
        claim = req.context.get(CLAIM_KEY)
        if claim and response.status == 404 and self.ledger is not None:
            self.ledger.finished(claim)
        return response


class _FinishClaim(ListenerCompletionHandler):
    """After every listener (answered, ignored or raised): the event's claim ends. One that raised is not retried
    ('failed': a second try could send a second answer after a first one got out), unless it only could not reach
    Slack: that one is handed back for another attempt, or after the last, its asker is told once Slack is back."""

    def __init__(self, ledger, inner: ListenerCompletionHandler):
        self.ledger, self.inner = ledger, inner

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        try:
            claim = request.context.get(CLAIM_KEY)
            if claim and request.context.get(LOST_KEY):
                self.ledger.release(claim)
            elif claim and request.context.get(UNDELIVERED_KEY):
                state = self.ledger.undeliverable(claim)
                if state == "answering":
                    log.warning("event %s: Slack is unreachable; handed back for another attempt", claim.event_id)
                elif state == "abandoned":
                    log.error("event %s: Slack stayed unreachable for every attempt; its asker is told to ask "
                              "again once Slack answers", claim.event_id)
            elif claim:
                self.ledger.finished(claim, failed=bool(request.context.get(FAILED_KEY)))
        except Exception:  # the database may be down: the lease then runs out and the event is answered again
            log.exception("could not mark an event answered")
        finally:
            self.inner.handle(request=request, response=response)


def _finish_claims_when_listeners_finish(app: HRApp, desk: EmployeeDesk) -> None:
    app.ledger = desk.events
    # Bolt has no public hook for "a listener finished"; its own @app.error replaces this runner's handlers the
    # same way. tests/test_event_leases.py fails if a Bolt upgrade moves it.
    runner = getattr(app, "_listener_runner", None)
    if runner is None or not hasattr(runner, "listener_completion_handler"):
        raise RuntimeError("slack-bolt no longer has App._listener_runner.listener_completion_handler")
    runner.listener_completion_handler = _FinishClaim(desk.events, runner.listener_completion_handler)


def build_jobs(runtime: Runtime, client: WebClient) -> SlackJobs:
    """The background jobs with the desks they use (`hrbot worker` builds these alone, no Bolt app)."""
    return SlackJobs(client, admins=AdminDesk(runtime), sources=SourcesDesk(runtime), privacy=PrivacyDesk(runtime),
                     operations=OperationsDesk(runtime), reminders=RemindersDesk(runtime))


def build_bot(runtime: Runtime, *, client: WebClient | None = None, token_verification: bool = True,
              connect_wait: float = 60.0) -> SlackBot:
    settings = runtime.settings
    client = client or build_client(settings)
    # Before Bolt's App, which calls auth.test itself and would fail with a traceback on a network not up yet.
    bot_user_id, team_id = (whoami(client, settings.slack_api_url, connect_wait, with_team=True)
                            if token_verification else (None, None))
    listeners = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hrbot-listener")
    app = HRApp(client=client, signing_secret=settings.slack_signing_secret or "",
              request_verification_enabled=bool(settings.slack_signing_secret),
              token_verification_enabled=token_verification, listener_executor=listeners, logger=BOLT_LOG)
    app.verified_with = settings.slack_signing_secret or None
    desk = EmployeeDesk(runtime)
    admins, sources, privacy, operations = (AdminDesk(runtime), SourcesDesk(runtime), PrivacyDesk(runtime),
                                            OperationsDesk(runtime))
    jobs = SlackJobs(client, admins=admins, sources=sources, privacy=privacy, operations=operations,
                     reminders=desk.reminders)
    services = BotServices(desk, bot_user_id=bot_user_id, team_id=team_id)

    @app.middleware
    def exactly_once(body: dict, context, next) -> BoltResponse | None:
        """Slack retries an event (same event_id, X-Slack-Retry-Num) when it thinks we were slow: answer once.
        The claim is a lease held until the listener finishes (EventLedger); a redelivery brings its own."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not answered_kind(body.get("event") or {}):
            event_id = None  # an edit or a deletion: nothing is answered, so nothing is claimed (issue 23 item 7)
        if event_id and context.get(CLAIM_KEY) is None:
            try:
                claim = desk.claim_event(event_id, body)
            except (DatabaseUnavailable, DiskFull):  # a full disk too: the ack must not become a 500
                claim = False  # can't check: better a rare duplicate than a lost question
            if claim is None:
                log.info("dropping duplicate delivery of %s", event_id)
                return BoltResponse(status=200, body="")
            context[CLAIM_KEY] = claim or None
        if event_id:  # the answer waits out a Slack outage (bot/patience.py)
            patience = Patience(desk.events, context.get(CLAIM_KEY))
            context["client"] = PatientClient.around(context.client, patience)
        return next()

    @app.error
    def on_error(error: Exception, body: dict, context) -> None:
        if isinstance(error, ClaimLost):
            context[LOST_KEY] = True
            log.warning("event %s was taken by another attempt while it waited: not answered here", error)
        elif transient(error) and context.get(CLAIM_KEY) is not None:
            context[UNDELIVERED_KEY] = True
            log.warning("could not reach Slack to answer %s: %s: %s", body.get("event_id"), type(error).__name__,
                        error)
        else:
            context[FAILED_KEY] = True
            log.error("unhandled error for %s", body.get("type"), exc_info=error)

    _finish_claims_when_listeners_finish(app, desk)
    register_listeners(app, services, admins=admins, sources=sources, privacy=privacy,
                       defer_upload=jobs.defer_upload)
    # Every source whose kind can be notified gets POST /webhooks/<its name>; a verified notification queues a run.
    webhooks = Webhooks(resolver=source_webhooks(sources, jobs.defer_source))
    bot = SlackBot(app, services, jobs, desk, operations, listeners, webhooks)
    jobs.attach(bot)  # the redelivery job dispatches through this process's app
    return bot
