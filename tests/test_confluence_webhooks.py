"""Confluence Data Center's webhooks (issue 25 item 4): an event signed with the webhook's secret (X-Hub-Signature,
HMAC-SHA256 of the raw body) about the source's space queues an immediate run; a missing or wrong signature is
401, logged as SECURITY, and queues nothing; another space's event is 202 and queues nothing; the test connection
is 200; the same delivery again is not acted on twice. Signed here as Confluence documents it signs."""
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request

import pytest

from knowledge.errors import ConfigurationError
from knowledge.sources.confluence_notify import confluence_webhook, make_confluence_webhook, space_of
from knowledge.sources.items import Source
from knowledge.sources.kinds import KINDS
from knowledge.sources.notifications import WebhookRequest

SECRET = "confluence-webhook-secret"
UPDATED = json.dumps({"timestamp": 1780000000123, "event": "page_updated", "userName": "hr-editor",
                      "page": {"id": 98307, "spaceKey": "HR", "title": "Parental leave", "version": 7,
                               "self": "https://wiki.example.com/pages/viewpage.action?pageId=98307"},
                      "updateTrigger": "edit_page"}).encode()


@pytest.fixture(autouse=True)
def forget_seen(monkeypatch):
    """Each test starts with no notification seen (the memory of them is per process)."""
    from knowledge.sources import notifications

    monkeypatch.setattr(notifications, "_SEEN", {})


def wiki(**settings) -> Source:
    return Source(1, "wiki", "confluence", {"url": "https://wiki.example.com", "space": "HR", **settings}, None, 3600)


def signed(body: bytes, secret: str = SECRET, prefix: str = "sha256=") -> dict:
    return {"x-hub-signature": prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "content-type": "application/json"}


def event(name: str, space: str | None = "HR", field: str = "page") -> bytes:
    body = {"timestamp": 1780000000999, "event": name, "userName": "hr-editor"}
    if space is not None:
        body[field] = {"id": 4242, "spaceKey": space, "title": "Holidays"}
    return json.dumps(body).encode()


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, name: str, reason: str) -> None:
        self.calls.append((name, reason))


@pytest.mark.parametrize("name", ["page_created", "page_updated", "page_trashed", "page_removed",
                                  "page_restored", "blog_updated"])
def test_a_signed_event_about_the_sources_space_queues_a_run(name):
    changed = Recorder()
    handle = make_confluence_webhook(wiki(), SECRET, changed)
    answer = handle(WebhookRequest("wiki", signed(event(name)), event(name)))
    assert (answer.status, answer.body) == (200, b"ok")
    assert changed.calls == [("wiki", f"Confluence says {name} in space HR")]


def test_a_bare_hex_signature_and_an_upper_case_one_are_accepted_and_an_event_naming_no_space_queues():
    changed = Recorder()
    handle = make_confluence_webhook(wiki(), SECRET, changed)
    assert handle(WebhookRequest("wiki", signed(UPDATED, prefix=""), UPDATED)).status == 200
    body = event("space_updated", space=None)
    upper = {"x-hub-signature": signed(body)["x-hub-signature"].upper()}
    assert handle(WebhookRequest("wiki", upper, body)).status == 200
    assert changed.calls == [("wiki", "Confluence says page_updated in space HR"),
                             ("wiki", "Confluence says space_updated in space (not named)")]


@pytest.mark.parametrize("headers, body, why", [
    ({}, UPDATED, "no X-Hub-Signature header"),
    ({"x-hub-signature": ""}, UPDATED, "no X-Hub-Signature header"),
    (signed(UPDATED, secret="someone-elses-secret"), UPDATED, "does not match"),
    (signed(UPDATED), UPDATED.replace(b'"HR"', b'"BEN"'), "does not match"),       # the body altered
    (signed(UPDATED, prefix="sha1="), UPDATED, "does not match"),                   # not how Confluence signs
    ({"x-hub-signature": "sha256=" + hashlib.sha256(UPDATED).hexdigest()}, UPDATED, "does not match"),  # no key
])
def test_an_unverified_event_is_refused_logged_and_queues_nothing(headers, body, why, caplog):
    caplog.set_level(logging.INFO)
    changed = Recorder()
    handle = make_confluence_webhook(wiki(), SECRET, changed)
    assert handle(WebhookRequest("wiki", headers, body)).status == 401
    assert changed.calls == []
    assert "SECURITY: webhook for source wiki refused" in caplog.text and why in caplog.text
    assert SECRET not in caplog.text


def test_an_event_about_another_space_is_answered_202_and_queues_nothing():
    changed = Recorder()
    handle = make_confluence_webhook(wiki(spaces="HR,BEN"), SECRET, changed)
    other = event("page_updated", space="ENG")
    answer = handle(WebhookRequest("wiki", signed(other), other))
    assert (answer.status, changed.calls) == (202, [])
    attachment = event("attachment_created", space="ben", field="attachment")  # another of its spaces, any case
    assert handle(WebhookRequest("wiki", signed(attachment), attachment)).status == 200
    assert changed.calls == [("wiki", "Confluence says attachment_created in space ben")]


def test_the_test_connection_is_answered_200_once_verified_and_queues_nothing():
    changed = Recorder()
    handle = make_confluence_webhook(wiki(), SECRET, changed)
    ping = json.dumps({"test": True}).encode()
    answer = handle(WebhookRequest("wiki", {**signed(ping), "x-event-key": "diagnostics:ping"}, ping))
    assert (answer.status, changed.calls) == (200, [])
    assert handle(WebhookRequest("wiki", signed(ping), ping)).status == 200
    assert handle(WebhookRequest("wiki", {"x-event-key": "diagnostics:ping"}, ping)).status == 401
    assert changed.calls == []


def test_the_same_delivery_again_is_not_acted_on_twice(caplog):
    caplog.set_level(logging.INFO)
    changed = Recorder()
    handle = make_confluence_webhook(wiki(), SECRET, changed)
    assert handle(WebhookRequest("wiki", signed(UPDATED), UPDATED)).body == b"ok"
    again = make_confluence_webhook(wiki(), SECRET, changed)  # HTTP mode makes a handler per request
    assert again(WebhookRequest("wiki", signed(UPDATED, prefix=""), UPDATED)).body == b"already received"
    assert len(changed.calls) == 1 and "already acted on" in caplog.text
    later = UPDATED.replace(b"1780000000123", b"1780000060123")  # the next edit: another timestamp
    assert again(WebhookRequest("wiki", signed(later), later)).body == b"ok"
    assert len(changed.calls) == 2


def test_a_delivery_that_failed_to_queue_is_acted_on_when_confluence_retries():
    calls = []

    def flaky(name, reason):
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("database unavailable")

    handle = make_confluence_webhook(wiki(), SECRET, flaky)
    with pytest.raises(RuntimeError):
        handle(WebhookRequest("wiki", signed(UPDATED), UPDATED))
    assert handle(WebhookRequest("wiki", signed(UPDATED), UPDATED)).body == b"ok"
    assert calls == ["wiki", "wiki"]


def test_the_kind_declares_the_webhook_and_reads_the_secret_from_a_reference(monkeypatch, tmp_path):
    changed = Recorder()
    assert KINDS["confluence"].webhook(wiki(), changed) is None  # no webhook_secret: its schedule only
    monkeypatch.setenv("CONFLUENCE_WEBHOOK_SECRET", SECRET)
    handle = KINDS["confluence"].webhook(wiki(webhook_secret="env:CONFLUENCE_WEBHOOK_SECRET"), changed)
    assert handle(WebhookRequest("wiki", signed(UPDATED), UPDATED)).status == 200
    kept = tmp_path / "secret"
    kept.write_text(SECRET + "\n")
    from_file = confluence_webhook(wiki(webhook_secret=f"file:{kept}"), changed)
    assert from_file(WebhookRequest("wiki", signed(event("page_created")), event("page_created"))).status == 200
    assert len(changed.calls) == 2
    with pytest.raises(ConfigurationError, match="MISSING_SECRET"):
        confluence_webhook(wiki(webhook_secret="env:MISSING_SECRET"), changed)


def test_the_space_is_read_where_each_event_names_it():
    assert space_of({"page": {"spaceKey": "HR"}}) == "HR"
    assert space_of({"blog": {"space": {"key": "BEN"}}}) == "BEN"
    assert space_of({"space": {"key": "ENG"}}) == "ENG"
    assert space_of({"event": "user_created"}) is None


def test_through_http_mode_a_signed_event_queues_one_run_and_a_forged_one_none(runtime, bot, store, monkeypatch):
    """Mounted as HTTP mode mounts it: the confluence kind declares its webhook, the bot resolves /webhooks/<source>
    from the sources table, on_change is the de-duplicated job (defer_source)."""
    from knowledge.operations import schedule

    monkeypatch.setenv("CONFLUENCE_WEBHOOK_SECRET", SECRET)
    store.add("wiki", "confluence", {"url": "https://wiki.example.com", "space": "HR", "auth": "bearer",
                                     "token": "env:CONFLUENCE_PAT", "webhook_secret": "env:CONFLUENCE_WEBHOOK_SECRET"},
              3600)

    def post(body: bytes, headers: dict) -> int:
        asked = urllib.request.Request(f"{bot.url}/webhooks/wiki", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(asked, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def jobs() -> list:
        with runtime.db.connection() as conn:
            return conn.execute("SELECT queueing_lock FROM procrastinate_jobs WHERE queue_name = %s",
                                [schedule.SOURCES_QUEUE]).fetchall()

    assert post(UPDATED, {"X-Hub-Signature": "sha256=" + "0" * 64}) == 401
    assert post(UPDATED, {}) == 401
    other = event("page_updated", space="ENG")
    assert post(other, signed(other)) == 202
    assert jobs() == []
    assert post(UPDATED, signed(UPDATED)) == 200
    assert post(UPDATED, signed(UPDATED)) == 200   # Confluence's retry: not acted on again
    created = event("page_created")
    assert post(created, signed(created)) == 200  # a second change before the run: still one run queued
    assert jobs() == [("source:wiki",)]
