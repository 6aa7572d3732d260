"""HTTP mode's one WSGI application, a route table: Slack's events through Bolt's own WSGI adapter, the probes,
Prometheus metrics and the webhooks' mount point. The server around it (waitress, bot/server.py) owns
connections, time-outs and the body-size limit; this owns what each path answers."""
from __future__ import annotations

import io
import json
import logging
import threading
import time
from typing import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.webhooks import WebhookRequest, WebhookResponse, Webhooks

log = logging.getLogger(__name__)
READY_WAIT = 0.8  # seconds /readyz waits for the database before saying it is not ready
SLACK_EVENTS, WEBHOOKS = "/slack/events", "/webhooks/"
JSON = [("Content-Type", "application/json")]
TEXT = [("Content-Type", "text/plain; charset=utf-8")]

Response = tuple[int, list[tuple[str, str]], bytes]


def within(check: Callable[[], bool], seconds: float) -> bool:
    """check() if it answers within `seconds`, else False (a database that hangs is as good as down)."""
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(bool(check())), daemon=True)
    worker.start()
    worker.join(seconds)
    return bool(result and result[0])


def _status_line(status: int) -> str:
    from http import HTTPStatus

    return f"{status} {HTTPStatus(status).phrase}"


class WebApp:
    """POST /slack/events -> Bolt (signature check, url_verification, claim, ack); GET /healthz -> alive
    (liveness: never waits on anything); GET /readyz -> healthy() within READY_WAIT, plus details() (readiness);
    GET /metrics -> Prometheus; POST /webhooks/<name> -> the handler registered under that name."""

    def __init__(self, slack: App, healthy: Callable[[], bool], details: Callable[[], dict] | None = None,
                 webhooks: Webhooks | None = None, ready_wait: float = READY_WAIT):
        self._slack = SlackRequestHandler(slack, path=SLACK_EVENTS)
        secret = getattr(slack, "verified_with", None)
        self._verifier = SignatureVerifier(secret) if secret else None
        self._healthy, self._details, self._ready_wait = healthy, details, ready_wait
        self.webhooks = webhooks if webhooks is not None else Webhooks()
        self._routes: dict[tuple[str, str], Callable[[dict, Callable], Iterable[bytes]]] = {
            ("POST", SLACK_EVENTS): self._slack_events,
            ("GET", "/healthz"): self._answer(self._healthz),
            ("GET", "/readyz"): self._answer(self._readyz),
            ("GET", "/metrics"): self._answer(self._metrics),
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        route = self._routes.get((method, path))
        if route is None and method == "POST" and path.startswith(WEBHOOKS):
            route = self._answer(self._webhook)
        if route is None:
            allowed = sorted(m for m, p in self._routes if p == path)
            status, headers = (405, [("Allow", ", ".join(allowed))]) if allowed else (404, [])
            return self._send(start_response, (status, TEXT + headers, b"not found" if status == 404 else b""))
        return route(environ, start_response)

    def _answer(self, handler: Callable[[dict], Response]) -> Callable[[dict, Callable], Iterable[bytes]]:
        return lambda environ, start_response: self._send(start_response, handler(environ))

    @staticmethod
    def _send(start_response: Callable, response: Response) -> Iterable[bytes]:
        status, headers, body = response
        start_response(_status_line(status), [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _slack_events(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Bolt's adapter answers; its status is recorded with the time it took (the ack Slack waits for)."""
        from knowledge.operations.metrics import SLACK_REQUEST_SECONDS

        seen: list[str] = []

        def recording(status: str, headers: list, exc_info=None):
            seen.append(status)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        started = time.perf_counter()
        if not self._signed(environ):  # before Bolt parses the body: garbage from anyone is a 401, not a 500
            log.info("Invalid request signature: a request to %s refused before its body was read", SLACK_EVENTS)
            SLACK_REQUEST_SECONDS.labels(status="401").observe(time.perf_counter() - started)
            return self._send(start_response, (401, TEXT, b"invalid request"))
        try:
            body = self._slack(environ, recording)
        except Exception:  # a malformed payload must not take the connection down without an answer
            log.exception("could not handle a request")
            SLACK_REQUEST_SECONDS.labels(status="500").observe(time.perf_counter() - started)
            return self._send(start_response, (500, TEXT, b""))
        SLACK_REQUEST_SECONDS.labels(status=seen[0].split()[0]).observe(time.perf_counter() - started)
        return body

    def _signed(self, environ: dict) -> bool:
        """Whether the request carries Slack's signature of its body (always, where verification is off). The body
        is read once and put back for Bolt's adapter."""
        if self._verifier is None:
            return True
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            return self._verifier.is_valid(raw, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "",
                                           environ.get("HTTP_X_SLACK_SIGNATURE") or "")
        except (UnicodeDecodeError, ValueError):  # a body that is not UTF-8 was not signed by Slack
            return False

    @staticmethod
    def _healthz(environ: dict) -> Response:
        return 200, JSON, json.dumps({"status": "ok"}).encode()

    def _readyz(self, environ: dict) -> Response:
        """Can it answer now? The database check gets READY_WAIT, then counts as down."""
        ready = within(self._healthy, self._ready_wait)
        extra = self._details() if self._details else {}
        body = {"status": "ready" if ready else "not ready", "database": "ok" if ready else "unavailable", **extra}
        return (200 if ready else 503), JSON, json.dumps(body).encode()

    @staticmethod
    def _metrics(environ: dict) -> Response:
        """Prometheus; the database gauges wait at most 1 s for a connection."""
        from knowledge.operations.metrics import CONTENT_TYPE, exposition

        return 200, [("Content-Type", CONTENT_TYPE)], exposition()

    def _webhook(self, environ: dict) -> Response:
        name = environ["PATH_INFO"][len(WEBHOOKS):]
        handler = self.webhooks.handler(name)
        if handler is None:
            return 404, TEXT, b"no such webhook"
        length = int(environ.get("CONTENT_LENGTH") or 0)  # the server has checked it and read the whole body
        request = WebhookRequest(name=name, headers=_headers(environ), body=environ["wsgi.input"].read(length),
                                 query=environ.get("QUERY_STRING", ""))
        try:
            answer: WebhookResponse = handler(request)
        except Exception:
            log.exception("the webhook %r failed", name)
            return 500, TEXT, b""
        return answer.status, list(answer.headers.items()), answer.body


def _headers(environ: dict) -> dict[str, str]:
    found = {name[5:].replace("_", "-").lower(): value for name, value in environ.items()
             if name.startswith("HTTP_")}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            found[name.replace("_", "-").lower()] = environ[name]
    return found
