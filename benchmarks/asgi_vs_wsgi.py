"""Why HTTP mode runs on waitress + Bolt's WSGI adapter, not uvicorn + Bolt's ASGI adapter: a sync Bolt App.

Bolt's ASGI adapter calls a sync `App.dispatch` straight from its coroutine, so everything that runs before the
ack (signature check, our claim of the event in PostgreSQL, which may wait up to 1 s for a connection) runs on the
event loop: while one request waits, no other is read or answered, /healthz included. waitress reads whole
requests on its loop and runs the app on worker threads. Here a middleware sleeps 0.2 s (a claim waiting for a
busy database); 10 requests are sent at once to each server, and the time until all are answered is measured.

Needs uvicorn, which is not a dependency of hrbot: `pip install uvicorn` in a scratch venv, then

    python benchmarks/asgi_vs_wsgi.py
"""
from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import write_result  # noqa: E402

CLAIM_WAIT, REQUESTS = 0.2, 10


def _bolt_app():
    from slack_bolt import App
    from slack_bolt.authorization import AuthorizeResult

    def authorize(**_) -> AuthorizeResult:  # no auth.test: nothing leaves this machine
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-bench", bot_user_id="UBOT")

    app = App(signing_secret="unused", authorize=authorize, request_verification_enabled=False)

    @app.middleware
    def claim(next):  # a claim whose database connection takes CLAIM_WAIT to come
        time.sleep(CLAIM_WAIT)
        return next()

    @app.event("app_mention")
    def mention(ack):
        ack()

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _burst(port: int) -> float:
    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "team_id": "T1",
                       "event": {"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1", "ts": "1.1"}})

    def post(_):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status

    started = time.perf_counter()
    with ThreadPoolExecutor(REQUESTS) as pool:
        statuses = list(pool.map(post, range(REQUESTS)))
    assert statuses == [200] * REQUESTS, statuses
    return time.perf_counter() - started


def uvicorn_asgi() -> float:
    import uvicorn
    from slack_bolt.adapter.asgi import SlackRequestHandler

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(SlackRequestHandler(_bolt_app()), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_up(port)
    try:
        return _burst(port)
    finally:
        server.should_exit = True
        thread.join(10)


def waitress_wsgi() -> float:
    import waitress
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    server = waitress.create_server(SlackRequestHandler(_bolt_app()), host="127.0.0.1", port=0, threads=16)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    port = server.effective_port
    _wait_up(port)
    try:
        return _burst(port)
    finally:
        server.close()
        server.task_dispatcher.shutdown()


def main() -> None:
    runs = {"uvicorn_asgi": uvicorn_asgi(), "waitress_wsgi": waitress_wsgi()}
    result = {"claim_wait_s": CLAIM_WAIT, "requests_at_once": REQUESTS,
              "seconds_until_all_answered": {name: round(s, 3) for name, s in runs.items()}}
    path = write_result("asgi_vs_wsgi", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
