"""What the employees' Slack listeners share: their desk, Slack identities and thread context."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from threading import Lock

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import THINKING
from knowledge.answering.answers import Asker
from knowledge.desks.employees import Asked, EmployeeDesk

log = logging.getLogger(__name__)
EMAIL_TTL = 3600.0
CLAIM_KEY = "hrbot_claim"  # the request context's knowledge.answering.events.Claim (bot/app.py sets it)


@dataclass
class BotServices:
    desk: EmployeeDesk
    bot_user_id: str | None = None
    team_id: str | None = None  # the bot's own workspace (auth.test): only its full members bind by email
    _emails: dict = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def asker(self, client: WebClient, slack_user_id: str) -> Asker:
        """The verified Slack user; their work email (users.info, cached) is fetched only if no record has
        their Slack id, and binds them to an employee only if nobody is bound to that employee yet."""
        return Asker(slack_user_id, email_lookup=lambda: self.email(client, slack_user_id))

    def email(self, client: WebClient, slack_user_id: str) -> str | None:
        """The work email of a full member of the bot's own workspace, or None: guests, Slack Connect users of
        other organisations, bots, deactivated and unconfirmed accounts never bind to an employee by email (their
        profile email is not the company's word that the address is theirs)."""
        return self._user(client, slack_user_id)[0]

    def locale(self, client: WebClient, slack_user_id: str) -> str | None:
        """The person's Slack locale ("de-DE"), asked in the same users.info call as the email and kept as long:
        what a message that answers no question (the App Home, a button's reply) is written in."""
        return self._user(client, slack_user_id)[1]

    def language(self, client: WebClient, slack_user_id: str):
        """The company's language the person's Slack locale asks for (its first when none of them)."""
        return self.desk.language_for(self.locale(client, slack_user_id))

    def words(self, client: WebClient, slack_user_id: str, language=None):
        """The wording of that language (or of `language`, already looked up: knowledge.profile.wording)."""
        from knowledge.profile.wording import wording

        return wording(language or self.language(client, slack_user_id))

    def _user(self, client: WebClient, slack_user_id: str) -> tuple[str | None, str | None]:
        now = time.monotonic()
        with self._lock:
            cached = self._emails.get(slack_user_id)
            if cached and cached[2] > now:
                return cached[0], cached[1]
        try:
            user = client.users_info(user=slack_user_id, include_locale=True)["user"]
            email = user.get("profile", {}).get("email") if self.may_bind_by_email(user) else None
            locale = user.get("locale") if isinstance(user.get("locale"), str) else None
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", slack_user_id, exc.response.get("error"))
            email = locale = None
        except OSError as exc:  # Slack timed out or could not be reached: not remembered, asked again next time
            log.warning("users.info did not answer for %s: %s: %s", slack_user_id, type(exc).__name__, exc)
            return None, None
        with self._lock:
            self._emails[slack_user_id] = (email, locale, now + EMAIL_TTL)
        return email, locale

    def may_bind_by_email(self, user: dict) -> bool:
        if any(user.get(flag) for flag in ("is_bot", "deleted", "is_restricted", "is_ultra_restricted",
                                           "is_stranger", "is_app_user")):
            log.info("%s is not a full member of this workspace: no binding by email", user.get("id"))
            return False
        if user.get("is_email_confirmed") is False:
            return False
        if self.team_id and user.get("team_id") and user["team_id"] != self.team_id:
            log.info("%s belongs to another workspace (%s): no binding by email", user.get("id"), user["team_id"])
            return False
        return True

    def ask(self, client: WebClient, slack_user_id: str, question: str, surface: str,
            history: list[tuple[str, str]] | None = None, for_channel: bool = False, stream=None) -> Asked:
        return self.desk.ask(question, self.asker(client, slack_user_id), surface, history=history,
                             for_channel=for_channel, stream=stream)

    def progress_message(self, client: WebClient, context, channel: str, thread_ts: str) -> str:
        """The "Looking that up..." message's ts. An event answered again after its first process stopped
        reuses the one that process posted, so the thread does not keep a placeholder that never resolves."""
        claim = context.get(CLAIM_KEY) if context is not None else None
        earlier = claim.placeholder if claim is not None else None
        if earlier and earlier.get("channel") == channel and earlier.get("ts"):
            return earlier["ts"]
        ts = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=THINKING)["ts"]
        if claim is not None:
            try:
                self.desk.events.note_placeholder(claim, {"channel": channel, "ts": ts})
            except Exception:  # only a nicety for a later redelivery
                log.warning("could not note the progress message of %s", claim.event_id)
        return ts

    def thread_history(self, client: WebClient, channel: str, thread_ts: str | None,
                       current_ts: str | None) -> list[tuple[str, str]]:
        """The thread so far as (role, text): the conversation a follow-up refers to."""
        if not thread_ts:
            return []
        try:
            messages = client.conversations_replies(channel=channel, ts=thread_ts, limit=20)["messages"]
        except SlackApiError as exc:
            log.warning("conversations.replies failed: %s", exc.response.get("error"))
            return []
        history = []
        for m in messages:
            if m.get("ts") == current_ts or not m.get("text"):
                continue
            role = "assistant" if m.get("bot_id") or m.get("user") == self.bot_user_id else "user"
            if role == "assistant" and m.get("text", "").startswith(THINKING):
                continue
            history.append((role, m["text"]))
        return history[-10:]
