"""What a service's change notification is to the sources: a request to POST /webhooks/<source name> and the
answer to it. A kind that can be notified declares a factory (kinds.py `webhook=`) with the shape

    make_<kind>_webhook(source, on_change) -> handler or None (None: the source is not set up for notifications)

where handler(WebhookRequest) -> WebhookResponse checks that the sender is the service (each signs its own way)
and calls on_change(source_name, reason) for a genuine one; the entry point binds on_change to a de-duplicated run
of that source (operations/schedule.py defer_source). The HTTP server (bot/web.py) only routes."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class WebhookRequest:
    name: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    query: str = ""


@dataclass(frozen=True)
class WebhookResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


OnChange = Callable[[str, str], None]  # (source name, why): queue a run of that source

# Every handler answers in plain text, never sniffed as HTML (Graph's handshake echoes a caller-chosen token).
TEXT = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}
REMEMBERED = 4096    # signatures kept to recognise a replay (a few hours of a busy HR system's notifications)


def json_object(body: bytes) -> dict | None:
    """A notification's body as a JSON object, or None: not JSON, not an object, or nested too deep to read (a body
    of 100,000 '[' is 200 KB, inside the size limit, and ends json.loads with RecursionError: a 400, not a 500)."""
    try:
        found = json.loads(body or b"")
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def text_response(status: int = 200, body: bytes = b"") -> WebhookResponse:
    return WebhookResponse(status, body, dict(TEXT))


class Seen:
    """Signatures already acted on, the newest REMEMBERED (a bounded memory; threads share it)."""

    def __init__(self, size: int = REMEMBERED):
        self.size, self._held, self._lock = size, OrderedDict(), threading.Lock()

    def __contains__(self, signature: str) -> bool:
        with self._lock:
            return signature in self._held

    def add(self, signature: str) -> None:
        with self._lock:
            self._held[signature] = True
            while len(self._held) > self.size:
                self._held.popitem(last=False)


_SEEN: dict[str, Seen] = {}
_SEEN_LOCK = threading.Lock()


def seen_for(source) -> Seen:
    """The signatures acted on for this source, shared by every handler made for it: HTTP mode makes a handler per
    request (from the source's current settings), and a replay must be recognised all the same. For services
    whose signature covers no timestamp (Merge, Confluence Data Center)."""
    with _SEEN_LOCK:
        return _SEEN.setdefault(f"{source.kind}:{source.name}", Seen())
