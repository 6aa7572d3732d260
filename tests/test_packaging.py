"""An installed hrbot (a wheel, as in a container image) can start: everything it reads at run time ships
inside the packages, not beside the checkout."""
from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
IMPORT_EVERYTHING = """
import importlib, pkgutil, bot, knowledge
from knowledge.answering.chain import PROMPTS
from knowledge.search.evaluation import EVAL_SET
from knowledge.runtime import SAMPLE_DOCS, SAMPLE_RECORDS
names = [m.name for p in (bot, knowledge) for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")]
for name in names:
    importlib.import_module(name)
assert (PROMPTS / "system.txt").is_file() and EVAL_SET.is_file()
assert any(SAMPLE_DOCS.iterdir()) and (SAMPLE_RECORDS / "employees.csv").is_file()
from knowledge.profile.language import shipped, shipped_pack
assert {"en", "de"} <= set(shipped()) and shipped_pack("de").name == "Deutsch"
print(len(names))
"""


def _modules_in_checkout() -> int:
    """Modules under bot/ and knowledge/ (the migrations are counted once, as knowledge.migrations' files)."""
    found = {p for top in ("bot", "knowledge") for p in (ROOT / top).rglob("*.py")}
    found |= {p for p in (ROOT / "infra" / "migrations").glob("*.py")}
    return len(found) - 2  # bot/__init__.py and knowledge/__init__.py: walk_packages names what is under them


def test_the_wheel_migrates_a_database_from_a_fresh_venv(tmp_path, pg_server):
    from knowledge.database.embedded import embedded_url

    import shutil

    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools would pack modules left there by an old build
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True, timeout=300)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    wheel = next((tmp_path / "dist").glob("hrbot-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # The dependencies come from the test environment (a .pth line, so its editable hook for this checkout is
    # not loaded); hrbot itself only from the wheel.
    fresh_site = next((venv / "lib").glob("python3*/site-packages"))
    (fresh_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)

    url = embedded_url(pg_server, "hrbot_from_wheel")
    env = {**os.environ, "DATABASE_URL": url, "HRBOT_DATA_DIR": str(tmp_path / "data")}
    try:
        where = subprocess.run([str(venv / "bin" / "python"), "-c", "import knowledge; print(knowledge.__file__)"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
        assert where.startswith(str(fresh_site)), where  # not this checkout
        # Every module and the data files read at run time (prompts, gold set, sample company) are inside.
        run = subprocess.run([str(venv / "bin" / "python"), "-c", IMPORT_EVERYTHING], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert int(run.stdout.split()[0]) == _modules_in_checkout(), run.stdout
        run = subprocess.run([str(venv / "bin" / "hrbot"), "db", "upgrade"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert "0001_knowledge.sql" in run.stdout and "0004_job_queue.py" in run.stdout
        status = subprocess.run([str(venv / "bin" / "hrbot"), "db", "status"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300).stdout
        assert "applied  0005_admin.sql" in status and "pending" not in status
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    finally:
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "hrbot_from_wheel" WITH (FORCE)')
