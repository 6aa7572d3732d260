"""A fake Socket Mode endpoint on 127.0.0.1: FakeSlack's apps.connections.open hands out its ws:// URL; it says
hello to each connection, sends events in envelopes as Slack does, and records the acks."""
from __future__ import annotations

import json
import threading
import time
import uuid

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve


class FakeSocketMode:
    def __init__(self):
        self.connections: list = []
        self.acks: list[str] = []
        self.closed = 0
        self._lock = threading.Lock()
        self.server = serve(self._session, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"

    def _session(self, websocket) -> None:
        websocket.send(json.dumps({"type": "hello", "num_connections": 1,
                                   "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                                   "connection_info": {"app_id": "A0APP"}}))
        with self._lock:
            self.connections.append(websocket)
        try:
            for message in websocket:
                envelope = json.loads(message)
                if envelope.get("envelope_id"):
                    with self._lock:
                        self.acks.append(envelope["envelope_id"])
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.connections.remove(websocket)
                self.closed += 1

    def wait_connected(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connections:
                return
            time.sleep(0.05)
        raise AssertionError("the bot did not connect over Socket Mode")

    def send_event(self, body: dict) -> str:
        """One events_api envelope carrying an event_callback body; returns its envelope id."""
        envelope_id = str(uuid.uuid4())
        with self._lock:
            connection = self.connections[-1]
        connection.send(json.dumps({"envelope_id": envelope_id, "type": "events_api", "payload": body,
                                    "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": ""}))
        return envelope_id

    def wait_acks(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.acks) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"expected {count} acks, got {len(self.acks)}")

    def __enter__(self) -> "FakeSocketMode":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
