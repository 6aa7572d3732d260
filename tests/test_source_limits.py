"""Outgoing HTTP has connect, read and total time limits, and garbage from an API fails the run with a message
naming the source, the item and the field (issue 22 item 3)."""
import socket
import threading
import time

import pytest

from knowledge.sources.items import SourceError
from knowledge.sources.transport import request


class DrippingServer:
    """Answers 200 with a long body, one byte every `every` seconds: no single read ever times out."""

    def __init__(self, every: float = 0.3):
        self.every = every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/report"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b" ")
                time.sleep(self.every)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.fixture
def dripping():
    server = DrippingServer()
    yield server
    server.close()


def test_a_server_that_drips_its_answer_is_cut_off_at_the_total_limit(dripping):
    started = time.monotonic()
    with pytest.raises(SourceError, match="too slowly: not complete after 2 s"):
        request(dripping.url, {}, 10 * 1024 * 1024, timeout=1.0, total=2.0)
    assert time.monotonic() - started < 10  # bounded by total plus one read, not by the server


def test_the_confluence_and_notion_clients_have_a_total_limit_too(dripping):
    """requests (Confluence) and httpx (Notion) have connect and read timeouts only."""
    import httpx

    from knowledge.sources.deadlines import httpx_client, requests_session

    started = time.monotonic()
    with pytest.raises(SourceError, match="too slowly"):
        requests_session(total=2.0).get(dripping.url, timeout=(1.0, 1.0))
    with pytest.raises(httpx.ReadTimeout, match="too slowly"):
        httpx_client(total=2.0).get(dripping.url, timeout=1.0)
    assert time.monotonic() - started < 20


def test_the_deadline_clients_still_read_normal_answers(bamboo):
    from knowledge.sources.deadlines import httpx_client, requests_session

    url = bamboo.base_url + "/nothing-here"
    assert requests_session().get(url).status_code == 401 and httpx_client().get(url).status_code == 401
    assert "Invalid API key" in requests_session().get(url).text and "Invalid API key" in httpx_client().get(url).text


# --- API garbage: refused without writing, with the item and the field named -----------------------------------

from tests.test_records_sources import bamboo, bamboo_settings, rows  # noqa: E402,F401 (fixtures and helpers)

GARBAGE = {
    "a list where the report object belongs": ("/reports/custom", b"[1, 2, 3]",
                                               "BambooHR's employee report is a list where an object was expected"),
    "JSON nested too deep": ("/reports/custom", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "a number too large for any leave": ("/time_off/calculator", b'[{"name": "Vacation", "balance": 1e400}]',
                                         "the field 'balance' is 1E+400, not a leave figure"),
    "NaN": ("/time_off/calculator", b'[{"name": "Vacation", "balance": NaN}]', "NaN is not a number JSON allows"),
    "an object where text belongs": ("/reports/custom",
                                     b'{"employees": [{"id": "101", "workEmail": {"x": 1}}]}',
                                     "employee 101: the field 'workEmail' is an object where text was expected"),
    "an object where a request belongs": ("/time_off/requests/", b'["not a request"]',
                                          "the time-off requests, item 1 is text where an object was expected"),
}


@pytest.mark.parametrize("case", list(GARBAGE))
def test_api_garbage_fails_the_run_naming_the_item_and_field_and_writes_nothing(runtime, store, bamboo, case):
    from knowledge.sources.runner import run_source

    source = store.add("hr", "bamboohr", bamboo_settings(bamboo), 3600)
    assert run_source(runtime.ingestor, store, source, profile=runtime.profile).status == "ok"
    before = rows(runtime.db, "SELECT employee_id, balance FROM leave_balances ORDER BY 1")
    path, body, message = GARBAGE[case]
    real = bamboo.answer

    def garbage(call):
        if call.path.endswith(path) or (path.startswith("/time_off/calc") and call.path.endswith(path)):
            return 200, body, {"Content-Type": "application/json"}
        return real(call)

    bamboo.answer = garbage
    failed = run_source(runtime.ingestor, store, store.get("hr"), profile=runtime.profile)
    assert failed.status == "failed" and message in failed.error, failed.error
    assert "Error" not in failed.error.split(":")[0] and "Traceback" not in failed.error
    assert rows(runtime.db, "SELECT employee_id, balance FROM leave_balances ORDER BY 1") == before
