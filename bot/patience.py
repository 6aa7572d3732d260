"""Answers that wait out a Slack outage instead of being lost.

A Slack call that times out, cannot connect or gets a 5xx (or a 429 past its retries) while an event is being
answered is a *transient delivery failure*, not a bug. The event's listener talks to Slack through a
PatientClient: such a call is tried again with backoff (1, 2, 4, 8, 8 ... s) for up to ATTEMPT_SECONDS, and the
event's lease is extended before each wait so no other replica takes the event meanwhile. If Slack is still
unreachable then, the error reaches bot.app, which hands the claim back (redelivery tries again, reusing the
placeholder) or, after the last attempt, abandons the event with its sealed body kept: its asker is told once
Slack answers again (tell_undelivered), exactly once across replicas.

The first call of an attempt checks (extend) that the claim is still this attempt's: an event that waited in the
listeners' queue past its lease may have been taken by a redelivery meanwhile, and must then not be answered twice.
"""
from __future__ import annotations

import http.client
import logging
import random
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from knowledge.answering.events import LEASE_SECONDS

log = logging.getLogger(__name__)

ATTEMPT_SECONDS = float(LEASE_SECONDS)  # how long one attempt keeps retrying before it hands the event back
BACKOFF_FIRST, BACKOFF_CAP = 1.0, 8.0
RATE_LIMIT_CAP = 20.0  # a Retry-After longer than this is waited in our own backoff, with the lease extended
TRANSIENT_ERRORS = {"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}


class ClaimLost(Exception):
    """The event's lease ran out and another attempt took it: this one must deliver nothing."""


def transient(exc: BaseException) -> bool:
    """A failure to reach Slack (worth trying again later), as opposed to Slack refusing the call or a bug."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200) or 200
        return status >= 500 or status == 429 or exc.response.get("error") in TRANSIENT_ERRORS
    # Timeouts (TimeoutError), refused/reset connections (ConnectionError), DNS and the like (URLError) are OSErrors.
    return isinstance(exc, (OSError, http.client.HTTPException))


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler sleeps whatever Retry-After says; this one at most RATE_LIMIT_CAP seconds, so one
    call never blocks a listener thread for minutes (the PatientClient's own backoff then takes over)."""

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        wait = 1.0
        for name, value in response.headers.items():
            if name.lower() == "retry-after":
                try:
                    wait = float(value[0] if isinstance(value, list) else value)
                except ValueError:
                    pass
        time.sleep(min(wait, RATE_LIMIT_CAP) + random.random())
        state.increment_current_attempt()


class Patience:
    """One attempt's time budget for waiting out Slack, and its claim's lease kept alive meanwhile."""

    def __init__(self, ledger, claim, budget: float | None = None):
        self.ledger, self.claim = ledger, claim
        self.deadline = time.monotonic() + (ATTEMPT_SECONDS if budget is None else budget)
        self.checked = claim is None or ledger is None
        self.retries = 0

    def check(self) -> None:
        """Before this attempt's first Slack call: is the claim still ours?"""
        if self.checked:
            return
        self.checked = True
        if not self._extend():
            raise ClaimLost(self.claim.event_id)

    def wait(self, delay: float) -> bool:
        """Wait `delay` seconds before trying again, if the budget allows; the lease is extended first."""
        if time.monotonic() + delay > self.deadline:
            return False
        if self.claim is not None and self.ledger is not None and not self._extend():
            raise ClaimLost(self.claim.event_id)
        self.retries += 1
        time.sleep(delay)
        return True

    def _extend(self) -> bool:
        try:
            return self.ledger.extend(self.claim)
        except Exception as exc:  # the database may be down: better a rare duplicate than a lost answer
            log.warning("could not extend the lease of %s (%s)", self.claim.event_id, exc)
            return True


class PatientClient(WebClient):
    """The app's WebClient (same token, URL, timeout and retry handlers) for one event's listener: a transient
    failure is tried again with backoff while the attempt's Patience lasts."""

    patience: Patience

    @classmethod
    def around(cls, base: WebClient, patience: Patience) -> "PatientClient":
        client = cls.__new__(cls)
        client.__dict__.update(base.__dict__)
        client.patience = patience
        return client

    def api_call(self, api_method: str, **kwargs):
        self.patience.check()
        delay = BACKOFF_FIRST
        # A post that timed out may have been made all the same (Slack did the work, its answer never came back):
        # before posting again, look in the thread for it, so a hanging Slack does not end up with two messages.
        # It is looked for twice, a second apart, before posting again: Slack may show it a moment late.
        started, unsure, looks = time.time(), False, 0
        while True:
            try:
                if unsure:
                    landed = self._landed(kwargs, since=started)
                    if landed is not None:
                        return landed
                    looks += 1
                    if looks < 2 and self.patience.wait(BACKOFF_FIRST):
                        continue
                return super().api_call(api_method, **kwargs)
            except Exception as exc:
                if not transient(exc) or not self.patience.wait(delay):
                    raise
                log.warning("Slack %s failed (%s); trying again in %.0f s", "conversations.replies (looking for "
                            "a post that timed out)" if unsure else api_method, _reason(exc), delay)
                unsure = unsure or (api_method == "chat.postMessage" and _maybe_made(exc))
                looks = 0
                delay = min(delay * 2, BACKOFF_CAP)

    def _landed(self, kwargs: dict, since: float):
        """The bot's message with this text in this thread, posted since `since`, if Slack has it (as the answer
        chat.postMessage would have given), else None. Only threaded posts can be looked up this way."""
        args = kwargs.get("json") or kwargs.get("params") or kwargs.get("data") or {}
        channel, thread_ts, text = args.get("channel"), args.get("thread_ts"), args.get("text")
        if not (channel and thread_ts and text):
            return None
        found = super().api_call("conversations.replies", params={"channel": channel, "ts": thread_ts,
                                                                  "oldest": f"{since - 5:.6f}", "limit": 100})
        for message in found.get("messages") or []:
            if message.get("bot_id") and message.get("text") == text and float(message.get("ts", 0)) >= since - 5:
                log.warning("a post to Slack that timed out had been made: %s", message["ts"])
                found.data = {"ok": True, "channel": channel, "ts": message["ts"], "message": message}
                return found
        return None


def _maybe_made(exc: BaseException) -> bool:
    """Could Slack have made the post all the same? Not if it refused the connection or said it was rate limited."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        return False
    return not (isinstance(exc, SlackApiError) and getattr(exc.response, "status_code", 0) == 429)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"{getattr(exc.response, 'status_code', '?')} {exc.response.get('error')}"
    return f"{type(exc).__name__}: {exc}"


def _snippet(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def notice_text(question: str) -> str:
    return (f"Sorry, Slack was unreachable when you asked \u201c{_snippet(question)}\u201d, so I could not answer "
            "it. Please ask again.")


def tell_undelivered(ledger, client: WebClient, limit: int = 10) -> int:
    """Tell the askers of events abandoned because Slack was unreachable, once each, now that Slack may be back.
    Where the notice goes comes from the sealed body only (the asker's DM or, for a mention, an ephemeral message
    to the asker in that channel). Stops at the first transient failure: Slack is still down, try next time."""
    told = 0
    taken = ledger.take_undelivered(limit)
    for index, item in enumerate(taken):
        event = item.body.get("event") or {}
        channel, user = event.get("channel"), event.get("user")
        thread_ts = event.get("thread_ts") or event.get("ts")
        if not channel or not user:
            ledger.told(item.claim, sent=True)  # nobody to tell: the body goes
            continue
        text = notice_text(event.get("text") or "")
        try:
            if event.get("channel_type") == "im":
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
            else:  # a mention in a channel: only the asker sees it
                client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
        except Exception as exc:
            if transient(exc):
                log.warning("Slack is still unreachable (%s): the askers of undelivered answers are told later",
                            _reason(exc))
                for rest in taken[index:]:
                    ledger.told(rest.claim, sent=False)
                break
            log.error("could not tell %s that their question was not answered (%s)", user, _reason(exc))
            ledger.told(item.claim, sent=True)  # Slack refused it (e.g. channel gone): it will not get better
            continue
        ledger.told(item.claim, sent=True)
        log.warning("told the asker of undelivered event %s to ask again", item.claim.event_id)
        told += 1
    return told
