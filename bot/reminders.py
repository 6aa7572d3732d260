"""The Slack side of reminders: the DM (a conversation opened with the person, never a channel) and the person's
time zone from their Slack profile. knowledge/operations/reminders.py decides what is due and keeps it once."""
from __future__ import annotations

import copy
import logging
import socket
import threading
import time
import urllib.error

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.render import reminder_blocks
from knowledge.operations.reminders import NotDelivered, Reminder
from knowledge.profile.wording import wording

log = logging.getLogger(__name__)
TIME_ZONE_TTL = 6 * 3600.0  # seconds a person's Slack time zone is remembered (the run asks for it hourly)
FAILED_TTL = 900.0          # a lookup that failed is not tried again for this person within one run
BREAK_AFTER, BREAK_SECONDS = 3, 300.0  # so many failures in a row: Slack is not asked at all for a while


class SlackReminders:
    def __init__(self, client: WebClient):
        self.client = client
        # Posting is never retried on a 5xx: Slack may have posted before it failed, and a reminder is sent at most
        # once (a 429 is still waited out and retried: a rate-limited call was not carried out).
        self.poster = copy.copy(client)
        self.poster.retry_handlers = [h for h in client.retry_handlers if not isinstance(h, ServerErrorRetryHandler)]
        self._people: dict[str, tuple[str | None, str | None, float]] = {}  # user -> (tz, locale, until)
        self._failures, self._resting_until = 0, 0.0
        self._lock = threading.Lock()

    def send(self, reminder: Reminder) -> None:
        """conversations.open with the person, then chat.postMessage to that DM. Raises NotDelivered when Slack
        surely did not post it (it answered with an error, or could not be reached); a time-out while posting
        is left to propagate: Slack may have posted it, so it is not tried again."""
        try:
            channel = self.client.conversations_open(users=reminder.slack_user_id)["channel"]["id"]
        except (SlackApiError, OSError) as exc:  # nothing was posted yet
            raise NotDelivered(_why(exc)) from None
        if not channel.startswith("D"):
            raise NotDelivered(f"conversations.open gave {channel}, not a direct message")
        try:
            items = reminder.items()  # in the language their Slack locale asks for
            blocks = reminder_blocks(items, reminder.slack_user_id, wording(reminder.language))
            self.poster.chat_postMessage(channel=channel, text=" ".join(text for text, _ in items), blocks=blocks)
        except SlackApiError as exc:
            if exc.response.status_code >= 500:  # a server error: it may have posted, so not tried again
                raise
            raise NotDelivered(_why(exc)) from None  # Slack answered with an error: it did not post the message
        except urllib.error.URLError as exc:  # refused before sending; a time-out or a reset may not be
            if isinstance(getattr(exc, "reason", None), socket.timeout):
                raise
            raise NotDelivered(_why(exc)) from None

    def time_zone(self, slack_user_id: str) -> str | None:
        """The time zone of the person's Slack profile (users.info `tz`), or None; remembered for a few hours,
        so an hourly run does not ask Slack about everyone each time."""
        return self._person(slack_user_id)[0]

    def locale(self, slack_user_id: str) -> str | None:
        """The person's Slack locale ("de-DE"; users.info with include_locale), asked with their time zone."""
        return self._person(slack_user_id)[1]

    def _person(self, slack_user_id: str) -> tuple[str | None, str | None]:
        """(tz, locale) from users.info, remembered. When Slack does not answer, the person is not asked again in
        this run (FAILED_TTL), and after BREAK_AFTER failures in a row nobody is for BREAK_SECONDS: a hanging
        users.info would otherwise cost the run a time-out per person (the location's time zone and the
        company's first language stand in, as for anyone without them)."""
        now = time.monotonic()
        with self._lock:
            known = self._people.get(slack_user_id)
            if known and known[2] > now:
                return known[0], known[1]
            if self._resting_until > now:
                return None, None
        try:
            user = self.client.users_info(user=slack_user_id, include_locale=True)["user"]
        except (SlackApiError, OSError) as exc:
            log.warning("users.info failed for %s: %s", slack_user_id, _why(exc))
            with self._lock:
                self._people[slack_user_id] = (None, None, now + FAILED_TTL)
                self._failures += 1
                if self._failures >= BREAK_AFTER:
                    self._resting_until, self._failures = now + BREAK_SECONDS, 0
                    log.warning("users.info failed %d times in a row: not asked for %.0f s (the locations' time "
                                "zones and the company's first language are used)", BREAK_AFTER, BREAK_SECONDS)
            return None, None
        zone, locale = user.get("tz"), user.get("locale")
        with self._lock:
            self._people[slack_user_id] = (zone, locale, now + TIME_ZONE_TTL)
            self._failures = 0
        return zone, locale


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.status_code}: {exc.response.get('error')}"
    return f"{type(exc).__name__}: {exc}"
