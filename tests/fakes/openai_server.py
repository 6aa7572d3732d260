"""A fake OpenAI-compatible API on 127.0.0.1 (port 0): a real HTTP server that records every request body."""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
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
    def __init__(self, dimension: int = 32, chunk_delay: float = 0.0, stall_seconds: float = 10.0):
        self.dimension = dimension
        self.requests: list[tuple[str, dict]] = []
        self.chunk_delay = chunk_delay      # between two streamed words (a whole answer waits as long for all)
        self.stall_seconds = stall_seconds  # how long a FAKE-STALL answer holds the line mid-stream
        self.first_tokens: list[float] = []  # time() as each streamed answer's first word was written
        self.chat_arrivals: list[float] = []  # time() as each chat request arrived
        self.streams_done = 0                 # streamed answers written to their [DONE]
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
                elif self.path.endswith("/chat/completions"):
                    fake.chat_arrivals.append(time.time())
                    status, payload, delay = fake.chat_reply(body)
                    if delay:
                        time.sleep(delay)
                    try:
                        if body.get("stream") and status == 200:
                            self._stream(payload["choices"][0]["message"]["content"], "FAKE-STALL" in str(body))
                        else:
                            if status == 200 and fake.chunk_delay:  # written at the same pace, sent whole
                                words = re.findall(r"\S+\s*|\s+", payload["choices"][0]["message"]["content"])
                                time.sleep(fake.chunk_delay * max(0, len(words) - 1))
                            self._send(status, payload)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client gave up (timeout test)
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def _stream(self, text: str, stall: bool):
                """Server-sent events as OpenAI documents them for `stream: true`: one chat.completion.chunk per
                word (`data: {...}` and a blank line), a last chunk with finish_reason, then `data: [DONE]`; the
                fake's chunk_delay between chunks. A stall stops sending after two words and holds the line."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                pieces = re.findall(r"\S+\s*|\s+", text)
                self._event({"role": "assistant", "content": ""}, None)
                for index, piece in enumerate(pieces):
                    if index:
                        time.sleep(fake.chunk_delay)
                    if index == 2 and stall:
                        time.sleep(fake.stall_seconds)
                        return
                    self._event({"content": piece}, None)
                    if index == 0:
                        fake.first_tokens.append(time.time())
                self._event({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                fake.streams_done += 1

            def _event(self, delta: dict, finish: str | None):
                chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake-chat",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()

            def _send(self, status: int, payload: dict):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # Deterministic chat behaviour, steered by markers in the question so tests read plainly.
    def chat_reply(self, body: dict) -> tuple[int, dict, float]:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if "Rewrite the employee's last message" in prompt:
            if "FAKE-CONDENSE-500" in prompt:
                return 500, {"error": {"message": "condense exploded", "type": "server_error"}}, 0
            history = re.findall(r"^user: (.*)$", prompt, flags=re.M)
            last = prompt.rsplit("Last message:", 1)[1].strip()
            return 200, _completion(f"{history[-1] if history else ''} {last}".strip()), 0
        question = prompt.rsplit("Question:", 1)[-1].strip()
        if "FAKE-500" in question:
            return 500, {"error": {"message": "upstream exploded", "type": "server_error"}}, 0
        if "FAKE-TIMEOUT" in question:
            return 200, _completion("too late"), 3.0
        sources = re.findall(r"^\[(\d+)\] \(.*?\)\n(.+)$", prompt, flags=re.M)
        facts = re.findall(r"^- (.+)$", prompt.split("Your records:", 1)[-1].split("Question:", 1)[0], flags=re.M)
        if not sources:
            return 200, _completion("I don't know. Please contact HR."), 0
        first = sources[0][1].split(". ")[0].rstrip(".")
        text = f"{first} [{sources[0][0]}]."
        if len(sources) > 1:
            text += f" See also [{sources[1][0]}]."
        if "FAKE-BOGUS" in question:
            text += " And a made-up rule [9]."
        if "FAKE-WRONG-NUMBER" in question:
            text += " You have 99 days of leave left."
        if "FAKE-FALSCHE-ZAHL" in question:  # a German reply with a figure the records do not have
            text += " Sie haben am 29. März noch 99 Tage Urlaub. Ihnen bleiben 15,5 Tage."
        if facts and not facts[0].startswith("(none"):
            text += "\n" + facts[min(1, len(facts) - 1)]
        return 200, _completion(text), 0

    @property
    def chat_requests(self) -> list[dict]:
        return [body for path, body in self.requests if path.endswith("/chat/completions")]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _completion(text: str) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake-chat",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
