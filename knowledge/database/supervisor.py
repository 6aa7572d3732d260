"""Keeping the embedded server up for a long-running process (`hrbot serve`, `hrbot worker`)."""
from __future__ import annotations

import logging

from knowledge.database.embedded import EmbeddedServer, describe_crash

log = logging.getLogger(__name__)


class Supervisor:
    """Keeps an embedded server up for a long-running process (`hrbot serve`, `hrbot worker`): checks it every
    `interval` seconds and restarts it after a crash or an out-of-memory kill, with backoff (1 s doubling to
    `max_delay`) while restarts fail. The bot carries on: its pool reconnects once the server is back."""

    def __init__(self, server: EmbeddedServer, interval: float = 2.0, max_delay: float = 30.0):
        self.server = server
        self.interval = interval
        self.max_delay = max_delay
        self.restarts = 0
        self.last_error: str | None = None
        self._stop = None

    def check(self) -> bool:
        """True when the server is running (restarting it first if its postmaster is dead or a zombie)."""
        if self.server.running():
            return True
        crash = self.server.crash()
        log.error("the embedded database is down%s; restarting it",
                  f" ({describe_crash(crash, self.server.log_path)})" if crash else "")
        try:
            self.server.restart()
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("restarting the embedded database failed: %s", self.last_error)
            return False
        self.restarts += 1
        self.last_error = None
        self.server.crash_error(wait=0)  # that crash is dealt with: later errors are not blamed on it
        log.warning("the embedded database is running again (restart %d, pid %s)", self.restarts,
                    self.server.postmaster_pid())
        return True

    def start(self):
        import threading

        self._stop = threading.Event()

        def loop() -> None:
            delay = 1.0
            while not self._stop.is_set():
                try:
                    healthy = self.check()
                except Exception:  # the supervisor itself must never die
                    log.exception("checking the embedded database failed")
                    healthy = False
                if healthy:
                    delay = 1.0
                    self._stop.wait(self.interval)
                else:
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.max_delay)

        threading.Thread(target=loop, name="hrbot-db-supervisor", daemon=True).start()
        return self._stop

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
