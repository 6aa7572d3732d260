"""A total time limit for the HTTP clients of the libraries sources use (requests for Confluence, httpx for
Notion). Both have connect and read timeouts but nothing for a whole answer: a server that sends one byte every
few seconds never trips a read timeout and holds the run for as long as it likes. Here the body is read as it
arrives and the call fails once the deadline passes (transport.request does the same for urllib)."""
from __future__ import annotations

import time

from knowledge.sources.items import SourceError
from knowledge.sources.transport import TOTAL_SECONDS


def too_slow(url, total: float) -> SourceError:
    return SourceError(f"{url} sent its answer too slowly: not complete after {total:.0f} s (a server that drips "
                       "its answer); tried again at the next run.")


def requests_session(total: float = TOTAL_SECONDS):
    """A requests Session whose every non-streamed answer must be complete within `total` seconds."""
    import requests

    class DeadlineSession(requests.Session):
        def send(self, request, **kwargs):
            if kwargs.get("stream"):
                return super().send(request, **kwargs)
            response = super().send(request, **{**kwargs, "stream": True})
            deadline, chunks = time.monotonic() + total, []
            try:
                while True:
                    if time.monotonic() > deadline:
                        raise too_slow(request.url, total)
                    chunk = response.raw.read1(64 * 1024)  # what has arrived, not a full buffer's worth
                    if not chunk:
                        break
                    chunks.append(chunk)
            finally:
                response.close()
            response._content, response._content_consumed = b"".join(chunks), True
            return response

    return DeadlineSession()


def httpx_client(total: float = TOTAL_SECONDS):
    """An httpx Client whose every answer must be complete within `total` seconds."""
    import httpx

    class DeadlineTransport(httpx.HTTPTransport):
        def handle_request(self, request):
            response = super().handle_request(request)
            deadline, inner = time.monotonic() + total, response.stream

            class Stream(httpx.SyncByteStream):
                def __iter__(self):
                    for chunk in inner:  # httpcore yields what each read got
                        if time.monotonic() > deadline:
                            raise httpx.ReadTimeout(str(too_slow(request.url, total)), request=request)
                        yield chunk

                def close(self):
                    inner.close()

            response.stream = Stream()
            return response

    return httpx.Client(transport=DeadlineTransport())
