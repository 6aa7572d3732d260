"""Driving the bot like Slack does: signed HTTP requests to a running server, and a fake Web API."""
from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import replace

from bot.app import build_bot
from bot.server import HttpServer
from bot.web import WebApp
from knowledge.runtime import Runtime
from tests.fakes.slack_api import FakeSlack, action_body, command_body, event_body, sign

SECRET = "test-signing-secret"
USERS = {
    "U0SAMPLE": {"email": "hannah.whitfield@fernhill.example", "real_name": "Hannah Whitfield", "is_bot": False},
    "U05K2M8PRQ": {"email": "priya.raman@fernhill.example", "real_name": "Priya Raman", "is_bot": False},
    "U0NEWBIE": {"email": "Hannah.Whitfield@fernhill.example", "real_name": "Hannah (new account)", "is_bot": False},
    "U0STRANGER": {"email": "stranger@elsewhere.example", "real_name": "Stranger", "is_bot": False},
    "U0ADMIN": {"email": "admin@fernhill.example", "real_name": "HR Admin", "is_bot": False},
}


class SlackHarness:
    """A running bot (HTTP mode) against a fake Slack; requests are signed the way Slack signs them."""

    def __init__(self, runtime: Runtime, fake: FakeSlack, **overrides):
        settings = replace(runtime.settings, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                           slack_api_url=fake.base_url, escalation_channel="CHRTEAM", admins="U0ADMIN",
                           **overrides)
        self.runtime = Runtime(settings, db=runtime.db, embeddings=runtime.embeddings)
        self.fake = fake
        self.bot = build_bot(self.runtime)
        self.app = self.bot.app
        self.web = WebApp(self.app, self.bot.operations.healthy, webhooks=self.bot.webhooks)
        self.server = HttpServer(self.web, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.server.port}"

    def close(self) -> None:
        self.server.close()

    def post(self, body: str, *, timestamp: int | None = None, secret: str = SECRET,
             headers: dict | None = None) -> tuple[int, str, float]:
        signed = sign(secret, body, timestamp)
        request = urllib.request.Request(self.url + "/slack/events", data=body.encode(), method="POST",
                                         headers={**signed, **(headers or {})})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(), time.perf_counter() - started
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), time.perf_counter() - started

    def event(self, event: dict, event_id: str | None = None, **kwargs):
        return self.post(event_body(event, event_id or f"Ev{uuid.uuid4().hex[:12]}"), **kwargs)

    def dm(self, user: str, text: str, ts: str = "1700000001.000100", thread_ts: str | None = None, **kwargs):
        event = {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text,
                 "ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kwargs)

    def command(self, user: str, text: str):
        return self.post(command_body("/hr", text, user, "C0GENERAL", self.fake.response_url("cmd")))

    def action(self, user: str, action_id: str, value: str, response_name: str = "act",
               action_ts: str | None = None):
        """A signed button click; each click is later than the one before (Slack's action_ts), unless given."""
        payload = {"type": "block_actions", "user": {"id": user}, "trigger_id": "trig1",
                   "team": {"id": "T0TEST"}, "channel": {"id": f"D{user}"},
                   "response_url": self.fake.response_url(response_name),
                   "actions": [{"action_id": action_id, "value": value, "type": "button",
                                "block_id": "b", "action_ts": action_ts or f"{1700000002 + next(CLICKS)}.1"}]}
        return self.post(action_body(payload))


CLICKS = itertools.count()


def texts(calls) -> str:
    """Everything a list of Web API calls would show people: text and block text."""
    return "\n".join(json.dumps({k: c.args.get(k) for k in ("text", "blocks")}) for c in calls)
