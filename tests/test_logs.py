"""Logs: JSON on request, and never a token, a key or someone's figures (issue 12)."""
import json
import os
import subprocess
import sys
from pathlib import Path

HRBOT = Path(sys.executable).with_name("hrbot")


def test_json_logs_mask_tokens_even_in_tracebacks(tmp_path):
    code = """
import logging
from knowledge.operations.logs import configure
configure("INFO", "json")
log = logging.getLogger("hrbot.test")
log.warning("calling Slack with xoxb-1234567890-abcdefghij and Bearer abcdefghijklmnop")
try:
    raise RuntimeError("key sk-proj-abcdefghijklmnopqrstuvwxyz rejected")
except RuntimeError:
    log.exception("model call failed")
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in run.stderr.splitlines()]
    assert [e["level"] for e in lines] == ["WARNING", "ERROR"]
    text = run.stderr
    assert "1234567890-abcdefghij" not in text and "abcdefghijklmnop" not in text
    assert "abcdefghijklmnopqrstuvwxyz" not in text and "xoxb-…(masked)" in lines[0]["message"]
    assert "RuntimeError" in lines[1]["error"]


def test_a_command_logs_json_lines(tmp_path, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "HRBOT_DATA_DIR": str(tmp_path),
           "HRBOT_LOG_FORMAT": "json", "HRBOT_LOG_LEVEL": "INFO"}
    run = subprocess.run([str(HRBOT), "docs"], env=env, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert all(json.loads(line)["level"] for line in run.stderr.splitlines() if line.strip())
