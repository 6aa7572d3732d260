"""A fake OpenAI-compatible API on 127.0.0.1 (port 0): a real HTTP server that records every request body."""
from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


def fake_vector(text: str, dimension: int) -> list[float]:
    """Deterministic bag-of-words hashing embedding: texts sharing words point the same way."""
    vector = np.zeros(dimension, dtype=np.float64)
    for word in text.lower().split():
        vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % dimension] += 1.0
    norm = np.linalg.norm(vector) or 1.0
    return (vector / norm).tolist()


class FakeOpenAI:
    def __init__(self, dimension: int = 32):
        self.dimension = dimension
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append((self.path, body))
                if self.path.endswith("/embeddings"):
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    data = [{"object": "embedding", "index": i, "embedding": fake_vector(str(t), fake.dimension)}
                            for i, t in enumerate(inputs)]
                    self._send(200, {"object": "list", "data": data, "model": body.get("model"),
                                     "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def _send(self, status: int, payload: dict):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
