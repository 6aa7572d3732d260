"""How long each step of one answer took: LangChain's run callbacks for the chain's named steps (parallel ones
included), and a timer for what runs around the chain (resolving the asker, the total)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from threading import Lock

from langchain_core.callbacks import BaseCallbackHandler


class StepTimer(BaseCallbackHandler):
    """Milliseconds per named step of one answer, from LangChain's run callbacks (parallel steps included)."""

    STEPS = frozenset({"condense", "embed", "retrieve", "facts", "answer"})

    def __init__(self, timings: dict[str, float]):
        self.timings = timings
        self._started: dict = {}
        self._lock = Lock()

    def on_chain_start(self, serialized, inputs, *, run_id, **kwargs) -> None:
        if kwargs.get("name") in self.STEPS:
            with self._lock:
                self._started[run_id] = (kwargs["name"], time.perf_counter())

    def on_chain_end(self, outputs, *, run_id, **kwargs) -> None:
        self._stop(run_id)

    def on_chain_error(self, error, *, run_id, **kwargs) -> None:
        self._stop(run_id)

    def _stop(self, run_id) -> None:
        with self._lock:
            started = self._started.pop(run_id, None)
            if started:
                name, at = started
                self.timings[name] = self.timings.get(name, 0.0) + (time.perf_counter() - at) * 1000


@contextmanager
def timed(timings: dict, name: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - started) * 1000


def finish(timings: dict, started: float) -> dict:
    timings["total"] = (time.perf_counter() - started) * 1000
    return {k: round(v, 2) for k, v in timings.items()}
