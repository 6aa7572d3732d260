"""Drive push notifications for the gdrive kind: a channel on the source's changes (changes.watch), kept alive by
the source's own runs, and the webhook that receives what Drive sends to it.

- The channel is created with id "hrbot-<source id>-<random>", token = the source's notification_secret and
  address = HRBOT_PUBLIC_URL/webhooks/<source name>. Drive sends every notification with X-Goog-Channel-ID and
  X-Goog-Channel-Token: both must match (a channel of another source, or a guessed token, is refused with 403,
  logged, and queues nothing). The first message on a channel is X-Goog-Resource-State: sync, answered 200 with
  nothing queued; any other state queues a de-duplicated run of the source.
- A channel cannot be extended: one that has less than RENEW_BEFORE left is replaced by a new one (then the old
  one is stopped, so there is no gap). Drive grants changes channels up to a week; each run (every 6 h by
  default) checks. Notifications are optional: without notification_secret or a public address the source runs on
  its schedule only, and a channel Drive refuses does not fail the run (the reason is in its changes)."""
from __future__ import annotations

import hmac
import json
import logging
import secrets
from datetime import datetime, timedelta, timezone

from knowledge.errors import ConfigurationError
from knowledge.sources.gdrive_api import DriveClient
from knowledge.sources.graph_notify import notification_url
from knowledge.sources.items import Source, SourceError, resolve_secret
from knowledge.sources.notifications import OnChange, TEXT, WebhookRequest, WebhookResponse, json_object
from knowledge.sources.state import SourceState, held_for

log = logging.getLogger(__name__)

CHANNEL = "channel"
ASKED = timedelta(days=7) - timedelta(hours=1)   # changes channels live at most a week (Drive's documentation)
RENEW_BEFORE = timedelta(days=2)


def channel_prefix(source: Source) -> str:
    return f"hrbot-{source.source_id}-"


def keep_watching(client: DriveClient, source: Source, state: SourceState, token: str, drive: str | None,
                  public_url: str | None, now: datetime | None = None) -> str | None:
    """Create or replace the source's channel; what happened, for the run's changes (None: none asked for)."""
    reference = source.settings.get("notification_secret")
    if not reference:
        return None
    url = notification_url(source, public_url)
    if url is None:
        return "off: set HRBOT_PUBLIC_URL (the bot's public https address) to receive them"
    now = now or datetime.now(timezone.utc)
    held, current = held_for(state, CHANNEL, url, RENEW_BEFORE, now)
    if current:
        return current
    until = now + ASKED
    body = {"id": channel_prefix(source) + secrets.token_hex(8), "type": "web_hook", "address": url,
            "token": resolve_secret(reference), "expiration": str(int(until.timestamp() * 1000))}
    params = {"pageToken": token, "supportsAllDrives": "true", "includeItemsFromAllDrives": "true",
              **({"driveId": drive} if drive else {})}
    try:
        status, answer = client.call("POST", "/drive/v3/changes/watch", "a push notification channel",
                                     params=params, data=json.dumps(body).encode(), answered=(400, 403, 404))
    except SourceError as exc:  # the documents are fine: the run is not failed for its notifications
        log.warning("source %s: no push channel: %s", source.name, exc)
        return f"off for now: {exc}"
    granted = _json(answer)
    if status != 200 or not granted.get("resourceId"):
        state.drop(CHANNEL)
        message = (granted.get("error") or {}).get("message") if isinstance(granted.get("error"), dict) else None
        log.warning("source %s: Google Drive refused the push channel (%s): %s", source.name, status, message)
        return (f"off: Google Drive refused the channel (HTTP {status}: {message or 'no reason given'}); check "
                f"that {url} is an https address reachable from the internet")
    expires = _expiry(granted.get("expiration"), until)
    state.put(CHANNEL, json.dumps({"id": body["id"], "resourceId": granted["resourceId"], "url": url}), expires)
    if held:  # the old one stops only now: no gap
        client.call("POST", "/drive/v3/channels/stop", "the old channel", answered=(400, 403, 404),
                    data=json.dumps({"id": held["id"], "resourceId": held["resourceId"]}).encode())
    return f"{'renewed' if held else 'on'} until {expires:%Y-%m-%d}"


def stop_watching(client_of, state: SourceState) -> str | None:
    """Stop the source's push channel (the source is being removed): Drive would otherwise post to a name that
    answers 404 until the channel expires."""
    kept = state.get(CHANNEL)
    if not kept:
        return None
    held = json.loads(kept[0])
    client_of().call("POST", "/drive/v3/channels/stop", "the push channel", answered=(400, 403, 404),
                     data=json.dumps({"id": held["id"], "resourceId": held["resourceId"]}).encode())
    state.drop(CHANNEL)
    return "push channel stopped"


def make_gdrive_webhook(source: Source, on_change: OnChange):
    """The handler for POST /webhooks/<source name>, or None when the source asks for no notifications."""
    reference = source.settings.get("notification_secret")
    if not reference:
        return None
    prefix = channel_prefix(source)

    def handle(request: WebhookRequest) -> WebhookResponse:
        try:
            secret = resolve_secret(reference).encode()
        except ConfigurationError as exc:
            log.error("source %s: a notification came but its notification_secret cannot be read here: %s",
                      source.name, exc)
            return WebhookResponse(503, b"", TEXT)
        channel = request.headers.get("x-goog-channel-id", "")
        token = request.headers.get("x-goog-channel-token", "").encode()
        if not channel.startswith(prefix) or not hmac.compare_digest(token, secret):
            log.warning("SECURITY: source %s: a Drive notification for an unknown channel or with a wrong token "
                        "was refused (nothing queued)", source.name)
            return WebhookResponse(403, b"", TEXT)
        state = request.headers.get("x-goog-resource-state", "")
        if state != "sync":  # sync only says the channel works
            on_change(source.name, f"Google Drive: {state or 'change'}")
        return WebhookResponse(200, b"", TEXT)

    return handle


def _json(body: bytes) -> dict:
    """The body as a JSON object; anything else (not JSON, too deep to read) an empty one."""
    return json_object(body or b"{}") or {}


def _expiry(milliseconds, asked: datetime) -> datetime:
    """The end Drive granted (milliseconds since the epoch, as a string), else what was asked."""
    try:
        return datetime.fromtimestamp(int(milliseconds) / 1000, timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return asked
