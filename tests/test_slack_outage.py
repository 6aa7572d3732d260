"""A Slack that hangs loses no answer: posts are tried again with backoff while the event's lease lasts, and an
asker whose answer could never get through is told once, when Slack is back, to ask again (the fault probe:
"with the Web API holding requests for 100 s ... all 21 events were marked failed")."""
import json
import time
import uuid

import pytest

import bot.patience as patience
import knowledge.answering.events as events
from bot.jobs import redeliver
from bot.patience import notice_text, tell_undelivered
from bot.render import THINKING
from knowledge.answering.events import EventLedger
from tests.fakes.slack_api import event_body
from tests.slack_helpers import SlackHarness

TIMEOUT = 1.0  # the Web API client's timeout here (10 s in production)


@pytest.fixture
def bot(sample_runtime, fake, monkeypatch):
    monkeypatch.setattr(patience, "BACKOFF_CAP", 2.0)
    harness = SlackHarness(sample_runtime, fake)
    harness.app.client.timeout = TIMEOUT  # each event's PatientClient copies it
    yield harness
    harness.close()


def _dm(user: str, text: str, ts: str) -> dict:
    return {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text, "ts": ts}


def _states(db, event_ids) -> dict:
    with db.connection() as conn:
        rows = conn.execute("SELECT event_id, state FROM processed_events WHERE event_id = ANY(%s)",
                            [list(event_ids)]).fetchall()
    return dict(rows)


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def test_every_question_asked_while_slack_hangs_is_answered_once_when_it_recovers(bot, fake, sample_runtime):
    questions = ["Does our dental plan cover implants?", "How much annual leave do I have?",
                 "What is the parental leave policy?", "Can I work from abroad?", "How do I claim expenses?",
                 "What is the notice period?"]
    fake.hang(8.0)  # every Web API method: many times the client's timeout
    sent = {}
    for i, question in enumerate(questions):
        event_id, ts = f"EvHang{uuid.uuid4().hex[:10]}", f"17000200{i:02d}.000100"
        status, _, took = bot.event(_dm("U0SAMPLE", question, ts), event_id)
        assert status == 200 and took < 3.0  # acks stay fast
        sent[event_id] = ts
    db = sample_runtime.db
    _wait(lambda: set(_states(db, sent).values()) == {"answered"}, 60,
          lambda: f"every answer: {_states(db, sent)}")
    assert fake.held, "the outage was not felt"
    # Exactly one placeholder per question (posts that timed out had no effect), each resolved once.
    placeholders = [c for c in fake.calls_to("chat.postMessage") if c.args.get("text") == THINKING]
    assert sorted(c.args["thread_ts"] for c in placeholders) == sorted(sent.values())
    updates = fake.calls_to("chat.update")
    assert sorted(c.args["ts"] for c in updates) == sorted({c.args["ts"] for c in updates})
    assert len(updates) == len(questions)
    assert "Slack was unreachable" not in json.dumps([c.args for c in fake.calls])


def test_posts_that_slack_made_but_never_confirmed_are_not_made_twice(bot, fake, sample_runtime):
    """The other kind of hang: Slack does the work of the held requests, but their answers never get back. A
    placeholder post that timed out is looked up in the thread before being posted again."""
    fake.keep_threads = True
    fake.hang(6.0, processed=True)
    sent = {}
    for i, question in enumerate(["Does our dental plan cover implants?", "How much annual leave do I have?",
                                  "What is the parental leave policy?"]):
        event_id, ts = f"EvLate{uuid.uuid4().hex[:10]}", f"17000201{i:02d}.000100"
        bot.event(_dm("U0SAMPLE", question, ts), event_id)
        sent[event_id] = ts
    db = sample_runtime.db
    _wait(lambda: set(_states(db, sent).values()) == {"answered"}, 60,
          lambda: f"every answer: {_states(db, sent)}")
    placeholders = [c for c in fake.calls_to("chat.postMessage") if c.args.get("text") == THINKING]
    assert sorted(c.args["thread_ts"] for c in placeholders) == sorted(sent.values())  # once each
    updates = fake.calls_to("chat.update")
    assert sorted(c.args["ts"] for c in updates) == sorted(c.result["ts"] for c in placeholders)


def test_an_answer_that_never_got_through_is_replaced_by_one_ask_again_message_once_slack_is_back(
        bot, fake, sample_runtime, monkeypatch):
    monkeypatch.setattr(patience, "ATTEMPT_SECONDS", 2.5)  # each attempt waits this long for Slack
    db = sample_runtime.db
    event_id, ts = f"EvGone{uuid.uuid4().hex[:10]}", "1700021000.000100"
    question = "Does our dental plan cover implants for my partner as well?"
    fake.hang(600.0)
    bot.event(_dm("U0SAMPLE", question, ts), event_id)
    # Attempt 1 (the delivery) hands the event back; the redelivery loop makes attempts 2 and 3; then it is given up.
    _wait(lambda: _redeliver_until_abandoned(bot, db, event_id), 90, "the event to be given up")
    with db.connection() as conn:
        attempts, kept = conn.execute("SELECT attempts, body IS NOT NULL FROM processed_events WHERE event_id = %s",
                                      [event_id]).fetchone()
        # An unsealed column pointing elsewhere changes nothing: the notice goes where the sealed body says.
        conn.execute("""UPDATE processed_events SET placeholder = placeholder || '{"channel": "C0OTHER", "ts": "1"}'
                        WHERE event_id = %s""", [event_id])
    assert (attempts, kept) == (events.MAX_ATTEMPTS, True)
    ledger = EventLedger(db)
    assert tell_undelivered(ledger, bot.app.client) == 0  # Slack still down: nobody told yet, nothing lost
    fake.recover()
    assert tell_undelivered(ledger, bot.app.client) == 1
    assert tell_undelivered(EventLedger(db), bot.app.client) == 0  # another replica: not told twice
    notices = [c for c in fake.calls if "Slack was unreachable" in str(c.args.get("text"))]
    assert [(c.method, c.args["channel"], c.args.get("thread_ts")) for c in notices] == [
        ("chat.postMessage", "DU0SAMPLE", ts)]
    assert notices[0].args["text"] == notice_text(question)
    with db.connection() as conn:
        assert conn.execute("SELECT state, body IS NULL FROM processed_events WHERE event_id = %s",
                            [event_id]).fetchone() == ("abandoned", True)
    assert fake.calls_to("chat.update") == []  # no late answer after the notice


def _redeliver_until_abandoned(bot, db, event_id) -> bool:
    if _states(db, [event_id]).get(event_id) == "abandoned":
        return True
    redeliver(bot.bot)
    return False


def test_a_forged_undelivered_row_tells_nobody(sample_runtime, fake):
    db = sample_runtime.db
    event_id = f"EvForged{uuid.uuid4().hex[:8]}"
    body = json.loads(event_body(_dm("U0SAMPLE", "hello", "1700021100.000100"), event_id))
    with db.connection() as conn:
        conn.execute("""INSERT INTO processed_events (event_id, state, body, seal, placeholder)
                        VALUES (%s, 'abandoned', %s::jsonb, '\\x00'::bytea, '{"undelivered": true}')""",
                     [event_id, json.dumps(body)])
    harness = SlackHarness(sample_runtime, fake)
    try:
        assert tell_undelivered(EventLedger(db), harness.app.client) == 0
    finally:
        harness.close()
    assert fake.calls_to("chat.postMessage") == []
    with db.connection() as conn:
        assert conn.execute("SELECT body IS NULL FROM processed_events WHERE event_id = %s",
                            [event_id]).fetchone() == (True,)


def test_an_event_that_waited_past_its_lease_is_not_answered_by_its_stale_attempt(sample_runtime, fake):
    """A redelivery took the event while its first attempt still waited for a listener thread: that attempt,
    starting late, must deliver nothing (the redelivered one answers)."""
    from bot.patience import ClaimLost, Patience, PatientClient

    db = sample_runtime.db
    ledger = EventLedger(db)
    event_id = f"EvStale{uuid.uuid4().hex[:8]}"
    first = ledger.claim(event_id, {"event_id": event_id})
    ledger.hand_back()
    [due] = ledger.take_due()
    harness = SlackHarness(sample_runtime, fake)
    try:
        stale = PatientClient.around(harness.app.client, Patience(ledger, first))
        with pytest.raises(ClaimLost):
            stale.chat_postMessage(channel="DU0SAMPLE", text="late")
        current = PatientClient.around(harness.app.client, Patience(ledger, due.claim))
        assert current.chat_postMessage(channel="DU0SAMPLE", text="on time")["ok"]
    finally:
        harness.close()
    assert [c.args["text"] for c in fake.calls_to("chat.postMessage")] == ["on time"]
