"""Confluence Data Center's webhooks, verified: a change in a Confluence space synced at once.

A Confluence administrator creates a webhook (Administration > General Configuration > Webhooks, 7.13 and later)
with our address (HRBOT_PUBLIC_URL/webhooks/<source name>) and a secret; Confluence then signs each POST with
HMAC-SHA256 of the raw body under that secret, in the X-Hub-Signature header (`sha256=<hex>`; a bare hex digest
is accepted too, as Atlassian's page names the algorithm but not the prefix). The source holds the same secret as
a reference in `webhook_secret` (env:/file:), never the secret itself.

- A verified event (page_created, page_updated, page_trashed, page_removed, page_restored, or any other the
  admin ticked) about one of the source's spaces queues a run of the source (on_change: the entry point binds it
  to the de-duplicated job, operations.schedule.defer_source); an event naming no space queues one too (it is
  signed, and the run reads Confluence through its API as a scheduled run does).
- A verified event about another space is answered 202 and queues nothing: one webhook is the whole site's, and
  the other spaces are not this source's.
- Confluence's "Test connection" (X-Event-Key diagnostics:ping, or a body that says it is a test) is answered
  200 once verified, and queues nothing.
- A missing or wrong signature is 401, logged as SECURITY, and queues nothing: the address is public.
- The same signed body again (Confluence's retry of an answer it lost, or a replay) is 200 and not acted on
  twice (the memory of signatures is notifications.seen_for's, per source).

Confluence Cloud's webhooks (Connect or Forge apps) are not signed with a secret an admin can give us, so a Cloud
source has no webhook: its schedule keeps it current."""
from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Callable

from knowledge.errors import ConfigurationError
from knowledge.sources.hris_webhooks import REFUSED
from knowledge.sources.items import Source, as_list, resolve_secret
from knowledge.sources.notifications import WebhookRequest, WebhookResponse, json_object, seen_for, text_response

log = logging.getLogger(__name__)

PING_EVENTS = {"diagnostics:ping", "ping", "test", "test_connection"}
# Where an event's body names its space: page, blog post, attachment and comment events carry the content with
# its spaceKey; space events carry the space.
CONTENT_FIELDS = ("page", "blog", "blogpost", "blogPost", "attachment", "comment", "content")


def make_confluence_webhook(source: Source, secret: str, on_change: Callable[[str, str], None]):
    """The handler for POST /webhooks/<source name>: verified events about the source's spaces queue a run."""
    if not secret:
        raise ConfigurationError(f"The Confluence webhook of source {source.name} has an empty secret.")
    key, seen = secret.encode(), seen_for(source)
    settings = source.settings
    spaces = {space.upper() for space in as_list(settings.get("spaces")) or as_list(settings.get("space"))}

    def handle(request: WebhookRequest) -> WebhookResponse:
        given = (request.headers.get("x-hub-signature") or "").strip().lower()
        if not given:
            return _refuse(source, "no X-Hub-Signature header")
        expected = hmac.new(key, request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.removeprefix("sha256="), expected):
            return _refuse(source, "the signature does not match the body")
        note = _json(request.body)
        event = str(request.headers.get("x-event-key") or note.get("event") or "").strip()[:80]
        if event.lower() in PING_EVENTS or note.get("test") is True:
            log.info("webhook for source %s: Confluence's test connection, verified", source.name)
            return text_response(200, b"ok")
        named = space_of(note)
        if named and spaces and named.upper() not in spaces:
            log.info("webhook for source %s: a Confluence event about space %s, not this source's; not queued",
                     source.name, named[:80])
            return text_response(202, b"not this source's space")
        if expected in seen:
            log.info("webhook for source %s: a notification already acted on (replayed or retried); not queued "
                     "again", source.name)
            return text_response(200, b"already received")
        on_change(source.name, f"Confluence says {event or 'content'} in space {named or '(not named)'}")
        seen.add(expected)  # once queued: a failure to queue (500) lets Confluence try again
        log.info("webhook for source %s: Confluence event %s; a run is queued", source.name, event or "(unnamed)")
        return text_response(200, b"ok")

    return handle


def confluence_webhook(source: Source, on_change: Callable[[str, str], None]):
    """The handler for a confluence source with a `webhook_secret` (an env:/file: reference); None without one
    (not set up for notifications: its schedule alone keeps it current). A reference that does not resolve is a
    ConfigurationError: a webhook that cannot verify anything must not be mounted."""
    reference = source.settings.get("webhook_secret")
    if not reference:
        return None
    return make_confluence_webhook(source, resolve_secret(str(reference)), on_change)


def space_of(note: dict) -> str | None:
    """The space key the event's body names, or None (an event about no one space, or a body that is not the
    JSON Confluence sends)."""
    for field in CONTENT_FIELDS:
        content = note.get(field)
        if isinstance(content, dict):
            space = content.get("space")
            key = content.get("spaceKey") or (space.get("key") if isinstance(space, dict) else None)
            if key:
                return str(key)
    space = note.get("space")
    if isinstance(space, dict) and (space.get("key") or space.get("spaceKey")):
        return str(space.get("key") or space.get("spaceKey"))
    return None


def _refuse(source: Source, why: str) -> WebhookResponse:
    log.warning("SECURITY: webhook for source %s refused: %s (not from Confluence, or its secret is not the one "
                "configured); nothing queued", source.name, why)
    return REFUSED


def _json(body: bytes) -> dict:
    """The body as a JSON object; anything else (not JSON, too deep to read) an empty one."""
    return json_object(body or b"{}") or {}
