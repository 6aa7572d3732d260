"""Prometheus /metrics: answers by kind, latency histograms, unsupported answers, queue depth, events and
freshness; labels never carry a person, a question or a figure."""
import re
import urllib.request

import pytest

from knowledge.operations import metrics
from tests.slack_helpers import SlackHarness


@pytest.fixture
def bot(sample_runtime, fake):
    harness = SlackHarness(sample_runtime, fake)
    metrics.register_state(harness.runtime.db, lambda: {"hrbot_worker_restarts": ("Worker restarts", 0)})
    yield harness
    harness.close()


def _scrape(bot) -> str:
    with urllib.request.urlopen(bot.url + "/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def _value(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", text, re.M)
    assert found, f"{name} {labels} not in /metrics"
    return float(found.group(1))


def test_metrics_count_answers_and_show_the_shared_state(bot, fake):
    before = _scrape(bot)
    answered_before = (_value(before, "hrbot_answers_total", kind="answer", surface="dm")
                       if 'hrbot_answers_total{kind="answer",surface="dm"}' in before else 0)
    bot.dm("U0SAMPLE", "How much annual leave do I have?", ts="1700007001.000100")
    fake.wait_for("chat.update")
    text = _scrape(bot)
    assert _value(text, "hrbot_answers_total", kind="answer", surface="dm") == answered_before + 1
    assert _value(text, "hrbot_answer_seconds_count", surface="dm") >= 1
    assert _value(text, "hrbot_slack_request_seconds_count", status="200") >= 1
    assert _value(text, "hrbot_database_up") == 1
    assert _value(text, "hrbot_documents") >= 7
    assert _value(text, "hrbot_job_queue", status="todo") >= 0
    assert _value(text, "hrbot_events", state="answering") >= 0
    assert _value(text, "hrbot_documents_age_seconds") >= 0
    assert _value(text, "hrbot_worker_restarts") == 0
    # Nothing about the person or the question: no user id, email, question words or balance.
    for private in ("U0SAMPLE", "hannah", "annual leave do I have", "days available"):
        assert private.lower() not in text.lower()
