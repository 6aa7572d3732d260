"""The HR systems' webhooks (issue 25 item 4): BambooHR's and Merge's signed notifications queue an immediate run
of their source; a missing or bad signature, a stale timestamp, is refused with 401, logged, and queues nothing; a
replay is not acted on twice. Signed here as each service documents it signs."""
import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request

import pytest

from knowledge.sources.notifications import WebhookRequest
from knowledge.errors import ConfigurationError
from knowledge.sources.hris_webhooks import (BAMBOOHR_SKEW, bamboohr_webhook, make_bamboohr_webhook,
                                             make_merge_webhook, merge_webhook)
from knowledge.sources.items import Source

BAMBOO_KEY, MERGE_KEY = "bamboo-webhook-private-key", "merge-webhook-signature-key"
NOW = 1_780_000_000
BODY = json.dumps({"employees": [{"id": "101", "action": "Updated", "changedFields": ["Location"]}]}).encode()
MERGE_BODY = json.dumps({"hook": {"id": "h1", "event": "TimeOff.changed", "target": "https://bot/webhooks/x"},
                         "linked_account": {"id": "la-1", "integration": "Personio"},
                         "data": {"id": "t-9001", "status": "APPROVED"}}).encode()


@pytest.fixture(autouse=True)
def forget_seen(monkeypatch):
    """Each test starts with no notification seen (the memory of them is per process)."""
    from knowledge.sources import notifications

    monkeypatch.setattr(notifications, "_SEEN", {})


def source(name: str, kind: str, **settings) -> Source:
    return Source(1, name, kind, settings, None, 3600)


def bamboo_signed(body: bytes, stamp: int, key: str = BAMBOO_KEY) -> dict:
    signature = hmac.new(key.encode(), body + str(stamp).encode(), hashlib.sha256).hexdigest()
    return {"x-bamboohr-signature": signature, "x-bamboohr-timestamp": str(stamp), "content-type": "application/json"}


def merge_signed(body: bytes, key: str = MERGE_KEY) -> dict:
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return {"x-merge-webhook-signature": base64.urlsafe_b64encode(digest).decode()}


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, name: str, reason: str) -> None:
        self.calls.append((name, reason))


def test_a_bamboohr_notification_signed_with_the_private_key_queues_a_run():
    changed = Recorder()
    handle = make_bamboohr_webhook(source("hr", "bamboohr"), BAMBOO_KEY, changed, now=lambda: NOW)
    answer = handle(WebhookRequest("hr", bamboo_signed(BODY, NOW - 30), BODY))
    assert answer.status == 200
    assert changed.calls == [("hr", "BambooHR says 1 employee record(s) changed")]


@pytest.mark.parametrize("headers, body, why", [
    ({}, BODY, "no X-BambooHR-Signature"),
    (bamboo_signed(BODY, NOW, key="someone-elses-key"), BODY, "does not match"),
    (bamboo_signed(BODY, NOW), BODY.replace(b"101", b"102"), "does not match"),       # the body altered
    ({**bamboo_signed(BODY, NOW), "x-bamboohr-timestamp": str(NOW + 1)}, BODY, "does not match"),  # time altered
    (bamboo_signed(BODY, NOW - BAMBOOHR_SKEW - 60), BODY, "a replay"),               # signed, but long ago
    (bamboo_signed(BODY, NOW + BAMBOOHR_SKEW + 60), BODY, "a replay"),
])
def test_an_unverified_bamboohr_notification_is_refused_logged_and_queues_nothing(headers, body, why, caplog):
    caplog.set_level(logging.INFO)
    changed = Recorder()
    handle = make_bamboohr_webhook(source("hr", "bamboohr"), BAMBOO_KEY, changed, now=lambda: NOW)
    assert handle(WebhookRequest("hr", headers, body)).status == 401
    assert changed.calls == []
    assert "webhook for source hr refused" in caplog.text and why in caplog.text
    assert BAMBOO_KEY not in caplog.text


def test_a_replayed_notification_is_not_acted_on_twice(caplog):
    caplog.set_level(logging.INFO)
    changed = Recorder()
    handle = make_bamboohr_webhook(source("hr", "bamboohr"), BAMBOO_KEY, changed, now=lambda: NOW)
    signed = bamboo_signed(BODY, NOW)
    assert handle(WebhookRequest("hr", signed, BODY)).status == 200
    again = handle(WebhookRequest("hr", signed, BODY))
    assert (again.status, again.body) == (200, b"already received")
    assert len(changed.calls) == 1 and "already acted on" in caplog.text
    assert handle(WebhookRequest("hr", bamboo_signed(BODY, NOW + 1), BODY)).status == 200  # a new notification
    assert len(changed.calls) == 2
    fresh = make_bamboohr_webhook(source("hr", "bamboohr"), BAMBOO_KEY, changed, now=lambda: NOW)
    assert fresh(WebhookRequest("hr", signed, BODY)).body == b"already received"  # a handler made per request
    assert len(changed.calls) == 2


def test_a_notification_that_fails_to_queue_can_be_delivered_again():
    """on_change raising (the database down) gives the service an error, and its retry is then acted on."""
    calls = []

    def flaky(name, reason):
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("database unavailable")

    handle = make_merge_webhook(source("unified", "merge"), MERGE_KEY, flaky)
    with pytest.raises(RuntimeError):
        handle(WebhookRequest("unified", merge_signed(MERGE_BODY), MERGE_BODY))
    assert handle(WebhookRequest("unified", merge_signed(MERGE_BODY), MERGE_BODY)).body == b"ok"
    assert calls == ["unified", "unified"]


def test_a_merge_notification_signed_with_the_signature_key_queues_a_run():
    changed = Recorder()
    handle = make_merge_webhook(source("unified", "merge"), MERGE_KEY, changed)
    assert handle(WebhookRequest("unified", merge_signed(MERGE_BODY), MERGE_BODY)).status == 200
    assert changed.calls == [("unified", "Merge says TimeOff.changed changed")]
    unpadded = {"x-merge-webhook-signature": merge_signed(MERGE_BODY + b" ")["x-merge-webhook-signature"]
                .rstrip("=")}
    assert handle(WebhookRequest("unified", unpadded, MERGE_BODY + b" ")).status == 200
    assert handle(WebhookRequest("unified", merge_signed(MERGE_BODY), MERGE_BODY)).body == b"already received"
    assert len(changed.calls) == 2


@pytest.mark.parametrize("headers, body", [
    ({}, MERGE_BODY),
    (merge_signed(MERGE_BODY, key="another-organisation"), MERGE_BODY),
    (merge_signed(MERGE_BODY), MERGE_BODY.replace(b"APPROVED", b"DECLINED")),
    ({"x-merge-webhook-signature": hmac.new(MERGE_KEY.encode(), MERGE_BODY, hashlib.sha256).hexdigest()},
     MERGE_BODY),  # hex, not base64url: not how Merge signs
])
def test_an_unverified_merge_notification_is_refused_logged_and_queues_nothing(headers, body, caplog):
    caplog.set_level(logging.INFO)
    changed = Recorder()
    handle = make_merge_webhook(source("unified", "merge"), MERGE_KEY, changed)
    assert handle(WebhookRequest("unified", headers, body)).status == 401
    assert changed.calls == [] and "webhook for source unified refused" in caplog.text


def test_a_merge_notification_for_another_linked_account_queues_nothing():
    changed = Recorder()
    handle = make_merge_webhook(source("unified", "merge"), MERGE_KEY, changed, linked_account_id="la-2")
    answer = handle(WebhookRequest("unified", merge_signed(MERGE_BODY), MERGE_BODY))
    assert (answer.status, changed.calls) == (200, [])
    mine = make_merge_webhook(source("unified", "merge"), MERGE_KEY, changed, linked_account_id="la-1")
    assert mine(WebhookRequest("unified", merge_signed(MERGE_BODY), MERGE_BODY)).status == 200
    assert changed.calls == [("unified", "Merge says TimeOff.changed changed")]


def test_the_handlers_read_their_key_from_a_reference_in_the_sources_settings(monkeypatch):
    monkeypatch.setenv("BAMBOO_WEBHOOK_KEY", BAMBOO_KEY)
    changed = Recorder()
    handle = bamboohr_webhook(source("hr", "bamboohr", webhook_key="env:BAMBOO_WEBHOOK_KEY"), changed)
    assert handle(WebhookRequest("hr", bamboo_signed(BODY, int(time.time())), BODY)).status == 200
    assert changed.calls and changed.calls[0][0] == "hr"
    assert merge_webhook(source("unified", "merge"), changed) is None       # not set up for notifications
    assert bamboohr_webhook(source("hr", "bamboohr"), changed) is None
    with pytest.raises(ConfigurationError, match="MISSING_KEY"):
        merge_webhook(source("unified", "merge", webhook_key="env:MISSING_KEY"), changed)


def test_through_http_mode_a_signed_notification_queues_one_run_and_an_unsigned_one_none(
        runtime, bot, store, monkeypatch):
    """Mounted as HTTP mode mounts it: the merge kind declares its webhook, the bot resolves /webhooks/<source>
    from the sources table, on_change is the de-duplicated job (defer_source)."""
    from knowledge.operations import schedule

    monkeypatch.setenv("MERGE_WEBHOOK_KEY", MERGE_KEY)
    store.add("unified", "merge", {"api_key": "env:MERGE_API", "account_token": "env:MERGE_ACCOUNT",
                                   "leave_types": {"VACATION": "annual"}, "webhook_key": "env:MERGE_WEBHOOK_KEY"},
              3600)

    def post(body: bytes, headers: dict) -> int:
        asked = urllib.request.Request(f"{bot.url}/webhooks/unified", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(asked, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def jobs() -> list:
        with runtime.db.connection() as conn:
            return conn.execute("SELECT queueing_lock FROM procrastinate_jobs WHERE queue_name = %s",
                                [schedule.SOURCES_QUEUE]).fetchall()

    assert post(MERGE_BODY, {"X-Merge-Webhook-Signature": "forged"}) == 401
    assert jobs() == []
    assert post(MERGE_BODY, merge_signed(MERGE_BODY)) == 200
    other = MERGE_BODY.replace(b"t-9001", b"t-9002")
    assert post(other, merge_signed(other)) == 200  # a second change before the run: still one run queued
    assert jobs() == [("source:unified",)]

