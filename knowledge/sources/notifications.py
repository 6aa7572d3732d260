"""What a service's change notification is to the sources: a request to POST /webhooks/<source name> and the
answer to it. A kind that can be notified declares a factory (kinds.py `webhook=`) with the shape

    make_<kind>_webhook(source, on_change) -> handler or None (None: the source is not set up for notifications)

where handler(WebhookRequest) -> WebhookResponse checks that the sender is the service (each signs its own way)
and calls on_change(source_name, reason) for a genuine one; the entry point binds on_change to a de-duplicated run
of that source (operations/schedule.py defer_source). The HTTP server (bot/web.py) only routes."""
from __future__ import annotations

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
