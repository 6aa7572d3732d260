"""Graph change notifications for the SharePoint and OneDrive kinds: the subscription (created, renewed, moved to
a new address by the source's own run) and the webhook that receives what Graph sends to it.

- Graph checks a new subscription's address before it answers: it POSTs ?validationToken=... there and wants the
  token back as text/plain within 10 s. The handler echoes it (nothing else is done for such a request).
- A notification carries the clientState the subscription was created with: the source's notification_secret.
  One that matches queues a run of the source (de-duplicated: one waiting run per source); one that does not is
  refused (403), logged, and queues nothing. One signed right but naming a subscription the source does not hold
  now (an old one whose delete failed when the address moved) or another directory (tenantId, when the source's
  tenant is the directory id) is answered 202, so Graph stops sending it, and queues nothing. Lifecycle
  notifications (reauthorizationRequired, subscriptionRemoved, missed) come to the same address and queue a run
  too: the run renews or re-creates the subscription.
- A driveItem subscription lives at most 42,300 minutes (Graph's documented maximum, about 29 days): it is asked
  for a little less, and each run renews it once less than RENEW_BEFORE is left, so the schedule (6 h by default)
  keeps it alive. Notifications are optional: a source without notification_secret or without a public address
  (HRBOT_PUBLIC_URL) runs on its schedule only, and a subscription Graph refuses does not fail the run (its
  documents are fine): the reason is in the run's changes."""
from __future__ import annotations

import hmac
import json
import logging
import urllib.parse
from datetime import datetime, timedelta, timezone

from knowledge.errors import ConfigurationError
from knowledge.sources.graph_api import GraphClient, _q
from knowledge.sources.items import Source, resolve_secret
from knowledge.sources.notifications import OnChange, TEXT, WebhookRequest, WebhookResponse, json_object
from knowledge.sources.state import SourceState, held_for

log = logging.getLogger(__name__)

SUBSCRIPTION = "subscription"
MAX_MINUTES = 42300                  # driveItem's maximum subscription life (Graph's documentation)
ASKED = timedelta(minutes=MAX_MINUTES - 60)
RENEW_BEFORE = timedelta(days=14)


def notification_url(source: Source, public_url: str | None) -> str | None:
    base = str(source.settings.get("public_url") or public_url or "").strip().rstrip("/")
    return f"{base}/webhooks/{source.name}" if base else None


def keep_subscribed(client: GraphClient, source: Source, state: SourceState, drive: str,
                    public_url: str | None, now: datetime | None = None) -> str | None:
    """Create, renew or move the source's subscription; what happened, for the run's changes (None: the source
    asks for no notifications)."""
    reference = source.settings.get("notification_secret")
    if not reference:
        return None
    url = notification_url(source, public_url)
    if url is None:
        return "off: set HRBOT_PUBLIC_URL (the bot's public https address) to receive them"
    now = now or datetime.now(timezone.utc)
    held, current = held_for(state, SUBSCRIPTION, url, RENEW_BEFORE, now)
    if current:
        return current
    until = now + ASKED
    if held and held.get("url") == url:
        status, answer = client.send_json("PATCH", f"/subscriptions/{_q(held['id'])}",
                                          {"expirationDateTime": _when(until)}, "the notification subscription")
        if status == 200:
            state.put(SUBSCRIPTION, json.dumps(held), _expiry(answer, until))
            return f"renewed until {until:%Y-%m-%d}"
    elif held:  # the public address changed: the old subscription would notify nobody
        client.call("DELETE", f"/subscriptions/{_q(held['id'])}", "the old subscription", answered=(404,))
    payload = {"changeType": "updated", "notificationUrl": url, "lifecycleNotificationUrl": url,
               "resource": f"/drives/{drive}/root", "expirationDateTime": _when(until),
               "clientState": resolve_secret(reference)}
    status, answer = client.send_json("POST", "/subscriptions", payload, "a notification subscription")
    if status != 201 or not answer.get("id"):
        message = (answer.get("error") or {}).get("message") if isinstance(answer.get("error"), dict) else None
        state.drop(SUBSCRIPTION)
        log.warning("source %s: Microsoft Graph refused the notification subscription (%s): %s", source.name,
                    status, message)
        return (f"off: Microsoft Graph refused the subscription (HTTP {status}: {message or 'no reason given'}); "
                f"check that {url} is reachable from the internet over https and answers its validation")
    state.put(SUBSCRIPTION, json.dumps({"id": answer["id"], "url": url}), _expiry(answer, until))
    return f"on until {until:%Y-%m-%d}"


def unsubscribe(client_of, state: SourceState) -> str | None:
    """Delete the source's subscription (the source is being removed): Graph would otherwise notify a name that
    answers 404 until it expires, up to 29 days. client_of: makes the client (its token) only when one is held."""
    kept = state.get(SUBSCRIPTION)
    if not kept:
        return None
    held = json.loads(kept[0])
    client_of().call("DELETE", f"/subscriptions/{_q(held['id'])}", "the subscription", answered=(404,))
    state.drop(SUBSCRIPTION)
    return "notification subscription deleted"


def make_graph_webhook(source: Source, on_change: OnChange, state: SourceState | None = None):
    """The handler for POST /webhooks/<source name>, or None when the source asks for no notifications. state:
    where the source keeps its subscription (read per request: a run may have re-created it); None checks the
    clientState alone."""
    reference = source.settings.get("notification_secret")
    if not reference:
        return None
    tenant = str(source.settings.get("tenant") or "").strip().lower()
    tenant = tenant if tenant and "." not in tenant else None  # a domain name cannot be compared with tenantId

    def handle(request: WebhookRequest) -> WebhookResponse:
        token = urllib.parse.parse_qs(request.query).get("validationToken")
        if token:  # the subscription's handshake: echoed as plain text (never as HTML)
            return WebhookResponse(200, token[0][:2048].encode(), TEXT)
        try:
            secret = resolve_secret(reference).encode()
        except ConfigurationError as exc:
            log.error("source %s: a notification came but its notification_secret cannot be read here: %s",
                      source.name, exc)
            return WebhookResponse(503, b"", TEXT)
        notifications = _notifications(request.body)
        if notifications is None:
            log.warning("source %s: a notification that is not Graph's JSON was refused", source.name)
            return WebhookResponse(400, b"", TEXT)
        if not notifications or not all(_signed(n, secret) for n in notifications):
            log.warning("SECURITY: source %s: a notification whose clientState does not match was refused "
                        "(nothing queued)", source.name)
            return WebhookResponse(403, b"", TEXT)
        ours = [n for n in notifications if _ours(n, _held_id(state), tenant)]
        if not ours:
            log.warning("source %s: a notification for a subscription or directory this source does not hold was "
                        "acknowledged and ignored (nothing queued)", source.name)
            return WebhookResponse(202, b"", TEXT)
        kinds = sorted({str(n.get("lifecycleEvent") or n.get("changeType") or "change") for n in ours})
        on_change(source.name, "Microsoft Graph: " + ", ".join(kinds))
        return WebhookResponse(202, b"", TEXT)

    return handle


def _notifications(body: bytes) -> list | None:
    value = (json_object(body) or {}).get("value")
    return value if isinstance(value, list) else None


def _signed(notification, secret: bytes) -> bool:
    state = notification.get("clientState") if isinstance(notification, dict) else None
    return isinstance(state, str) and hmac.compare_digest(state.encode(), secret)


def _held_id(state: SourceState | None) -> str | None:
    if state is None:
        return None
    kept = state.get(SUBSCRIPTION)
    return json.loads(kept[0]).get("id") if kept else ""


def _ours(notification: dict, held: str | None, tenant: str | None) -> bool:
    """held: the subscription id the source keeps ("" none; None not checked); tenant: its directory id or None."""
    if held is not None and notification.get("subscriptionId") != held:
        return False
    return tenant is None or str(notification.get("tenantId") or "").strip().lower() == tenant


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _expiry(answer: dict, asked: datetime) -> datetime:
    """The end Graph granted (it may shorten what was asked), else what was asked."""
    try:
        return datetime.strptime(str(answer.get("expirationDateTime"))[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=timezone.utc)
    except ValueError:
        return asked


def public_url_setting() -> str | None:
    """HRBOT_PUBLIC_URL, read where the source runs (a worker may run it, not the bot)."""
    from knowledge.settings import Settings

    try:
        return Settings.from_env().public_url
    except ConfigurationError:
        return None
