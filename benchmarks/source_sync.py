"""A web source of 1,000 pages, synced from a sitemap on a local server (issue 11 item 6): the first run, a run
with nothing changed (conditional GETs: every page a 304), and an incremental run with 1% of the pages
changed. Time and peak memory of this process (which embeds).

    python benchmarks/source_sync.py [--pages 1000]
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import benchmark_database, stop_database, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def sentences() -> list[str]:
    text = " ".join(p.read_text() for p in (ROOT / "benchmarks" / "external" / "18f-handbook").glob("*.md"))
    return [s.strip() for s in text.replace("\n", " ").split(". ") if 40 < len(s.strip()) < 300]


def serve(pages: dict[str, tuple[int, str]]):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/sitemap.xml":
                body = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        + "".join(f"<url><loc>{base}{p}</loc></url>" for p in pages) + "</urlset>").encode()
                return self._send(200, body, {"Content-Type": "application/xml"})
            version, html = pages[self.path]
            etag = f'"{version}"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", {"ETag": etag})
            self._send(200, html.encode(), {"Content-Type": "text/html", "ETag": etag})

        def _send(self, status, body, headers):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, base


def page(i: int, pool: list[str], rng: random.Random) -> str:
    body = "".join(f"<p>{'. '.join(rng.sample(pool, 4))}.</p>" for _ in range(3))
    return f"<html><head><title>Handbook page {i}</title></head><body><h1>Handbook page {i}</h1>{body}</body></html>"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    args = parser.parse_args()
    from knowledge.database.connection import Database
    from knowledge.runtime import Runtime
    from knowledge.settings import Settings
    from knowledge.sources.runner import run_source
    from knowledge.sources.store import SourceStore

    rng = random.Random(7)
    pool = sentences()
    pages = {f"/handbook/{i:04d}": (1, page(i, pool, rng)) for i in range(args.pages)}
    server, base = serve(pages)
    url, pg = benchmark_database("sources")
    db = Database(url)
    results = {"pages": args.pages}
    try:
        rt = Runtime(Settings.from_env(environ={}, dotenv_path=None), db=db)
        store = SourceStore(db)
        source = store.add("handbook", "web", {"sitemap": base + "/sitemap.xml"}, 3600)
        rt.embeddings.embed_array(["warm up"] * 64)  # load both runtimes' models outside the timing
        if rt.multilingual is not None:
            rt.multilingual.warm()
        for name, change in (("first run", 0), ("nothing changed", 0), ("1% changed", max(1, args.pages // 100))):
            for path in rng.sample(sorted(pages), change):
                version, _ = pages[path]
                pages[path] = (version + 1, page(int(path[-4:]) + 10_000, pool, rng))
            started = time.perf_counter()
            result = run_source(rt.ingestor, store, store.get("handbook"))
            seconds = time.perf_counter() - started
            results[name] = {"seconds": round(seconds, 1), "changes": result.changes, "status": result.status,
                             "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
            print(f"{name:16} {seconds:7.1f} s  {result.status} {result.changes}  "
                  f"peak RSS {results[name]['peak_rss_mb']} MB")
        with db.connection() as conn:
            results["chunks"] = conn.execute("SELECT count(*) FROM chunks c JOIN documents d USING (document_id) "
                                             "WHERE d.status = 'active'").fetchone()[0]
    finally:
        db.close()
        stop_database(pg)
        server.shutdown()
    print(f"written to {write_result('source_sync', results)}")


if __name__ == "__main__":
    main()
