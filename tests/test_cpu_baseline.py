"""The guard against binaries built for the build machine's CPU: the product's own database work (migrations,
COPY of vectors, HNSW build, hybrid search with a typo, row-level security) against the embedded server
running under an emulated CPU of our stated baseline. CI installs qemu-user (.ci/run); without it this test
skips on a developer's machine and fails in CI."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from knowledge.database.connection import Database, upgrade
from knowledge.database.embedded import CRASH
from knowledge.runtime import SAMPLE_DOCS, SAMPLE_RECORDS
from tests.emulation import QEMU_ATOMIC_SHARED_MEMORY, EmulatedServer, baseline_model, qemu_binary, qemu_version

pytestmark = pytest.mark.skipif(
    (qemu_binary() is None or qemu_version() < QEMU_ATOMIC_SHARED_MEMORY) and os.environ.get("CI") != "true",
    reason="qemu-user >= 8.1 is not installed (Debian 12: apt-get install -t bookworm-backports qemu-user); CI "
           "installs it and runs this guard")


def _exercise_the_product(url: str, embeddings) -> None:
    from knowledge.documents.ingest import Ingestor
    from knowledge.people.imports import import_csv
    from knowledge.people.records import RecordsReader
    from knowledge.search.retrieval import HybridSearcher
    from knowledge.search.embeddings import multilingual_model

    upgrade(url)
    db = Database(url)
    try:
        multilingual = multilingual_model()
        ingestor = Ingestor(db, embeddings, max_bytes=10 * 1024 * 1024, multilingual=multilingual)
        results = ingestor.ingest_paths([SAMPLE_DOCS / "employee-handbook.md", SAMPLE_DOCS / "remote-work-policy.html"])
        assert [r.status for r in results] == ["added", "added"], [r.reason for r in results]
        searcher = HybridSearcher(db, embeddings, multilingual=multilingual)
        for mode in ("hybrid", "vector", "fulltext", "rrf"):
            assert searcher.search("can I wrok from abroad for a few weeks", 3, mode=mode), mode
        assert any(h.source == "remote-work-policy.html" for h in searcher.search("can I wrok from abroad", 3))
        import_csv(db, (SAMPLE_RECORDS / "employees.csv").read_bytes(), actor="test", name="employees.csv")
        records = RecordsReader(db)
        assert records.load(records.resolve("U0SAMPLE", None)).employee.slack_user_id == "U0SAMPLE"
        with db.connection() as conn:  # SIMD code often hides in the tail loop of odd dimensions
            conn.execute("SELECT '[1,2,3]'::vector <=> '[3,2,1]', '[1,2,3,4,5]'::vector <-> '[5,4,3,2,1]', "
                         "'[1,2,3]'::vector <#> '[3,2,1]', l2_normalize('[3,4,5]'::vector)")
    finally:
        db.close()


ATTEMPTS = 8  # backstop: a backend lost to an emulator fault (any signal but SIGILL) gets a fresh server


def _attempt(model: str, embeddings) -> tuple[list[tuple[int, str]], Exception | None]:
    """One fresh emulated server running the product: (crashes as (signal, log text), other failure)."""
    with EmulatedServer(model) as server:
        import psycopg

        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE hrbot")
        failure = None
        try:
            _exercise_the_product(server.url("hrbot"), embeddings)
        except Exception as exc:  # a crash shows up as a lost connection: report the crash first
            failure = exc
        for _ in range(50):  # under emulation the postmaster logs a crash a moment after the client notices
            crashes = [(int(m.group(2)), m.group(0)) for m in CRASH.finditer(server.log())]
            if crashes or failure is None:
                break
            time.sleep(0.1)
    return crashes, failure


def test_the_product_runs_on_the_baseline_cpu(embeddings):
    assert qemu_binary(), "qemu-user is missing: .ci/run installs it; the CPU baseline guard cannot run"
    # Older qemu-user translates a single-threaded process's atomics non-atomically, so the server's backends,
    # which share memory, corrupt their locks and die of SIGSEGV: that would be the emulator's fault, not ours.
    assert qemu_version() >= QEMU_ATOMIC_SHARED_MEMORY, (
        f"qemu-user {qemu_version()} is older than 8.1 and loses PostgreSQL backends to SIGSEGV; .ci/run installs a "
        "newer one (Debian 12: bookworm-backports)")
    level, model = baseline_model()
    seen = []
    for _ in range(ATTEMPTS):
        crashes, failure = _attempt(model, embeddings)
        illegal = [text for number, text in crashes if number == signal.SIGILL]
        assert not illegal, (f"The embedded PostgreSQL needs more than {level} (qemu -cpu {model}): {illegal}. "
                             "Pick a wheel built for a portable baseline, or raise CPU_BASELINE and the README.")
        if not crashes:
            if failure is not None:
                raise failure
            return
        seen += [text for _, text in crashes]
    pytest.fail(f"Every attempt under qemu -cpu {model} lost a backend: {seen}")


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to build the probe")
def test_the_emulated_cpu_refuses_instructions_beyond_the_baseline(tmp_path):
    """The guard above is only worth something if the emulator really refuses newer instructions."""
    assert qemu_binary(), "qemu-user is missing"
    _, model = baseline_model()
    if os.uname().machine != "x86_64":
        pytest.skip("the probe instruction is x86 (AVX-512)")
    source = tmp_path / "probe.c"
    source.write_text('int main(void) { __asm__ volatile("vpxorq %%zmm0, %%zmm0, %%zmm0" ::: "xmm0"); return 0; }\n')
    subprocess.run(["cc", "-o", str(tmp_path / "probe"), str(source)], check=True)
    run = subprocess.run([qemu_binary(), "-cpu", model, str(tmp_path / "probe")], capture_output=True, text=True)
    assert "signal 4" in run.stderr or run.returncode == -4, (run.returncode, run.stderr)
