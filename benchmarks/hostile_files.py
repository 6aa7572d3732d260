"""Files that cost far more than they look (an operator's fault probe): how long each takes to be refused, and
with which reason. Each file is built by tests/files.py and read the way ingestion reads a file before it touches
the database: parse with the settings' limits, chunk, the passage limit. Each runs in its own process, stopped
after --timeout seconds (before the guards, the largest ran for minutes).

    python benchmarks/hostile_files.py [--timeout 600]

Run from another checkout's root (with this script and tests/files.py copied in) to measure that code instead.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FILES = {  # name: (what it is, how to build it from tests.files)
    "bomb.docx": ("DOCX whose document.xml declares the 'billion laughs' entities", "entity_bomb_docx()"),
    "inflated.docx": ("DOCX of ~95 kB holding 8 MB of XML (135:1)", "inflated_docx()"),
    "passages.docx": ("DOCX of ~190 kB holding 8 MB of XML (55:1)", "inflated_docx(varied=True)"),
    "huge.docx": ("DOCX of ~400 kB holding 53 MB of XML", "inflated_docx(53)"),
    "long.pdf": ("PDF of 10,000 pages, a different line on each", "long_pdf(10_000)"),
    "same.pdf": ("PDF of 200 pages, the same line on each", "same_line_pdf(200)"),
}


def refuse(name: str) -> None:
    """In the child: build the file, then time what ingestion does before the database."""
    from knowledge.documents import loaders
    from knowledge.documents.chunking import chunk_blocks
    from knowledge.settings import Settings
    from tests import files

    settings = Settings()
    data = eval("files." + FILES[name][1])  # noqa: S307 - our own table above
    started = time.monotonic()
    try:
        try:
            from knowledge.documents.guards import Limits

            limits = Limits(settings.max_pages, int(settings.max_unzipped_mb * 1024 * 1024), settings.max_zip_ratio,
                            settings.parse_seconds)
            parsed = loaders.parse(name, data, limits)
        except ImportError:  # the code before the guards: its page limit came after the parse
            parsed = loaders.parse(name, data)
            if parsed.pages and parsed.pages > settings.max_pages:
                raise ValueError(f"The PDF has {parsed.pages} pages; the limit is {settings.max_pages}.")
        chunks = chunk_blocks(parsed.blocks)
        outcome = (f"refused: {len(chunks):,} passages; the limit is {settings.max_chunks:,}"
                   if len(chunks) > settings.max_chunks else f"ACCEPTED ({len(chunks)} passages)")
    except Exception as exc:  # noqa: BLE001 - what the old code let through is the measurement
        outcome = f"refused: {exc}" if type(exc).__name__ in ("DocumentRejected", "ValueError") else \
            f"TRACEBACK {type(exc).__name__}: {exc}"
    print(f"{len(data)}\t{time.monotonic() - started:.2f}\t{outcome}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        refuse(args.one)
        return
    rows = []
    for name, (what, _) in FILES.items():
        try:
            run = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True,
                                 timeout=args.timeout, cwd=ROOT)
            size, seconds, outcome = (run.stdout.strip().split("\t") + ["", "", run.stderr[-300:]])[:3]
        except subprocess.TimeoutExpired:
            size, seconds, outcome = "", f">{args.timeout:.0f}", "still reading when stopped"
        rows.append({"file": name, "what": what, "bytes": size, "seconds": seconds, "outcome": outcome})
        print(f"{name:15} {size:>9} B  {seconds:>7} s  {outcome[:150]}", flush=True)
    if (ROOT / "knowledge" / "documents" / "guards.py").exists():  # not when measuring the code before
        from benchmarks._common import write_result

        write_result("hostile_files", {"timeout_s": args.timeout, "files": rows})


if __name__ == "__main__":
    main()
