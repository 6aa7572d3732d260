"""The HR systems' webhooks, verified: BambooHR and Merge sign each notification with a secret only they and we
hold, and a notification that checks out queues an immediate run of its source (on_change: the entry point binds
it to the de-duplicated job, operations.schedule.defer_source). A missing or bad signature, or a BambooHR
timestamp outside the allowed skew, is refused with 401 and logged, and queues nothing: a webhook URL is public,
and without this anyone could make the bot hammer the HR system. A notification already acted on (the same
signature again: a replay, or the service retrying an answer it lost) is answered 200 and not acted on twice.

The notification's content is never trusted or stored: it only says "something changed", and the run reads the
HR system through its API as a scheduled run does (so a forged payload could not write a record even if it were
signed).

A handler takes the webhook request (knowledge.sources.notifications.WebhookRequest: lower-case `headers`, raw
`body`) and returns a WebhookResponse; a kind declares its factory (`webhook=` in kinds.py) and HTTP mode mounts
it at /webhooks/<source name>.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from typing import Callable

from knowledge.errors import ConfigurationError
from knowledge.sources.items import Source, resolve_secret
from knowledge.sources.notifications import Seen, WebhookResponse, json_object, seen_for, text_response

log = logging.getLogger(__name__)

BAMBOOHR_SKEW = 300  # seconds a BambooHR timestamp may be off (BambooHR's own guidance: reject older than 5 min)


REFUSED = text_response(401, b"invalid signature")


def _refuse(source: Source, service: str, why: str) -> WebhookResponse:
    log.warning("webhook for source %s refused: %s (not from %s, or its secret is not the one configured); "
                "nothing queued", source.name, why, service)
    return REFUSED


def _act(source: Source, seen: Seen, signature: str, reason: str,
         on_change: Callable[[str, str], None]) -> WebhookResponse:
    """Queue a run unless this very notification was acted on already; it counts as seen once queued (so a
    failure to queue, a 500, lets the service try again)."""
    if signature in seen:
        log.info("webhook for source %s: a notification already acted on (replayed or retried); not queued "
                 "again", source.name)
        return text_response(200, b"already received")
    on_change(source.name, reason)
    seen.add(signature)
    log.info("webhook for source %s: %s; a run is queued", source.name, reason)
    return text_response(200, b"ok")


def _json(body: bytes) -> dict:
    """The body as a JSON object; anything else (not JSON, too deep to read) an empty one."""
    return json_object(body or b"{}") or {}


# --- BambooHR ---------------------------------------------------------------------------------------------------

def make_bamboohr_webhook(source: Source, secret: str, on_change: Callable[[str, str], None],
                          now: Callable[[], float] = time.time):
    """BambooHR signs the body followed by the X-BambooHR-Timestamp header (Unix seconds) with HMAC-SHA256 under
    the webhook's private key, hex, in X-BambooHR-Signature. The timestamp is signed, so an old notification
    replayed later is refused once it is BAMBOOHR_SKEW old; inside that window the same signature is
    recognised."""
    if not secret:
        raise ConfigurationError(f"The BambooHR webhook of source {source.name} has no private key.")
    key, seen = secret.encode(), seen_for(source)

    def handle(request) -> WebhookResponse:
        signature = (request.headers.get("x-bamboohr-signature") or "").strip().lower()
        stamp = (request.headers.get("x-bamboohr-timestamp") or "").strip()
        if not signature or not stamp:
            return _refuse(source, "BambooHR", "no X-BambooHR-Signature or X-BambooHR-Timestamp header")
        expected = hmac.new(key, request.body + stamp.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return _refuse(source, "BambooHR", "the signature does not match the body")
        if not stamp.isdigit() or abs(now() - int(stamp)) > BAMBOOHR_SKEW:
            return _refuse(source, "BambooHR", f"a timestamp more than {BAMBOOHR_SKEW} s from now (a replay)")
        changed = _json(request.body).get("employees")
        count = len(changed) if isinstance(changed, list) else 0
        return _act(source, seen, signature, f"BambooHR says {count or 'some'} employee record(s) changed",
                    on_change)

    return handle


def bamboohr_webhook(source: Source, on_change: Callable[[str, str], None]):
    """The handler for a bamboohr source, its private key from the source's webhook_key (env:/file:); None for a
    source without one (not set up for notifications: its schedule alone keeps it current)."""
    secret = _secret(source, "webhook_key")
    return make_bamboohr_webhook(source, secret, on_change) if secret is not None else None


# --- Merge ------------------------------------------------------------------------------------------------------

def make_merge_webhook(source: Source, secret: str, on_change: Callable[[str, str], None],
                       linked_account_id: str | None = None):
    """Merge signs the raw body with HMAC-SHA256 under the organisation's webhook signature key, base64url, in
    X-Merge-Webhook-Signature. Merge's webhooks are the organisation's, so they also carry other linked
    accounts' changes: with linked_account_id set, a notification naming another linked account is answered 200
    and queues nothing (it is not this source's)."""
    if not secret:
        raise ConfigurationError(f"The Merge webhook of source {source.name} has no signature key.")
    key, seen = secret.encode(), seen_for(source)

    def handle(request) -> WebhookResponse:
        given = (request.headers.get("x-merge-webhook-signature") or "").strip()
        if not given:
            return _refuse(source, "Merge", "no X-Merge-Webhook-Signature header")
        digest = hmac.new(key, request.body, hashlib.sha256).digest()
        expected = base64.urlsafe_b64encode(digest).decode()
        if not (hmac.compare_digest(expected, given) or hmac.compare_digest(expected.rstrip("="), given)):
            return _refuse(source, "Merge", "the signature does not match the body")
        note = _json(request.body)
        account = note.get("linked_account") if isinstance(note.get("linked_account"), dict) else {}
        if linked_account_id and str(account.get("id") or "") != linked_account_id:
            log.info("webhook for source %s: a Merge notification for another linked account; not queued",
                     source.name)
            return text_response(200, b"not this source's linked account")
        hook = note.get("hook") if isinstance(note.get("hook"), dict) else {}
        return _act(source, seen, expected, f"Merge says {str(hook.get('event') or 'data')[:80]} changed",
                    on_change)

    return handle


def merge_webhook(source: Source, on_change: Callable[[str, str], None]):
    """The handler for a merge source: webhook_key (env:/file:) is Merge's webhook signature key;
    linked_account_id (optional) keeps other linked accounts' notifications out. None without a webhook_key."""
    secret = _secret(source, "webhook_key")
    return make_merge_webhook(source, secret, on_change, source.settings.get("linked_account_id") or None) \
        if secret is not None else None


def _secret(source: Source, setting: str) -> str | None:
    """The key a reference in the settings points to; None when the source has none. A reference that does not
    resolve is a ConfigurationError: a webhook that cannot verify anything must not be mounted."""
    reference = source.settings.get(setting)
    return resolve_secret(str(reference)) if reference else None
