"""Where webhooks mount: POST /webhooks/<name> is handed to the handler registered under that name.

The HTTP server only routes; what a webhook means (a source saying its content changed, say) is the handler's, and
so is checking that the sender is who it claims to be (each service signs its webhooks its own way). The entry
point registers the handlers when it builds HTTP mode; a name with no handler is 404."""
from __future__ import annotations

import re
from typing import Callable

# The request and answer types live with the sources, whose kinds make the handlers (knowledge/ never imports bot/).
from knowledge.sources.notifications import WebhookRequest, WebhookResponse

__all__ = ["NAME", "Webhook", "WebhookRequest", "WebhookResponse", "Webhooks"]

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


Webhook = Callable[[WebhookRequest], WebhookResponse]


class Webhooks:
    """The registry: one handler per name, registered once (a second handler for a name is a mistake, not an
    override). `resolver` answers the names registered nowhere: the sources' webhooks are looked up when a request
    comes, so a source added while the bot runs can be notified at once (its subscription's handshake included)."""

    def __init__(self, resolver: Callable[[str], Webhook | None] | None = None) -> None:
        self._handlers: dict[str, Webhook] = {}
        self._resolver = resolver

    def register(self, name: str, handler: Webhook) -> None:
        if not NAME.fullmatch(name):
            raise ValueError(f"a webhook name is lower-case letters, digits, '-' and '_': {name!r}")
        if name in self._handlers:
            raise ValueError(f"a webhook named {name!r} is already registered")
        self._handlers[name] = handler

    def handler(self, name: str) -> Webhook | None:
        found = self._handlers.get(name)
        if found is None and self._resolver is not None and NAME.fullmatch(name):
            found = self._resolver(name)
        return found

    def names(self) -> list[str]:
        return sorted(self._handlers)


def source_webhooks(sources, on_change: Callable[[str, str], None]) -> Callable[[str], Webhook | None]:
    """A resolver for Webhooks: the handler of the source named so, made by its kind's `webhook` factory with
    on_change bound (the entry point binds it to a de-duplicated run); None for a source whose kind cannot be
    notified, one not set up for it, or no such source (404). sources: the sources' desk (its find)."""
    from knowledge.sources.kinds import KINDS

    def resolve(name: str) -> Webhook | None:
        source = sources.find(name)
        kind = KINDS.get(source.kind) if source is not None else None
        if kind is None or kind.webhook is None:
            return None
        return kind.make_webhook(source, on_change, sources.state(source))

    return resolve
