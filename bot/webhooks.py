"""Where webhooks mount: POST /webhooks/<name> is handed to the handler registered under that name.

The HTTP server only routes; what a webhook means (a source saying its content changed, say) is the handler's, and
so is checking that the sender is who it claims to be (each service signs its webhooks its own way). The entry
point registers the handlers when it builds HTTP mode; a name with no handler is 404."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


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


Webhook = Callable[[WebhookRequest], WebhookResponse]


class Webhooks:
    """The registry: one handler per name, registered once (a second handler for a name is a mistake, not an
    override)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Webhook] = {}

    def register(self, name: str, handler: Webhook) -> None:
        if not NAME.fullmatch(name):
            raise ValueError(f"a webhook name is lower-case letters, digits, '-' and '_': {name!r}")
        if name in self._handlers:
            raise ValueError(f"a webhook named {name!r} is already registered")
        self._handlers[name] = handler

    def handler(self, name: str) -> Webhook | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)
