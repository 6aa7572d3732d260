"""An event is marked handled only with its answer; one whose process died or stopped is answered again by the
next process, once, replacing the progress message the first one posted (issue 12 item 1)."""
import json
import time
import uuid

import pytest

from bot.app import _FinishClaim
from bot.jobs import redeliver
from knowledge.answering.events import MAX_ATTEMPTS, EventLedger
from tests.fakes.slack_api import event_body
from tests.slack_helpers import SlackHarness, texts


@pytest.fixture
def bot(sample_runtime, fake):
    harness = SlackHarness(sample_runtime, fake)
    yield harness
    harness.close()


def _state(db, event_id: str):
    with db.connection() as conn:
        return conn.execute("SELECT state, attempts, body IS NOT NULL FROM processed_events WHERE event_id = %s",
                            [event_id]).fetchone()


def _wait_state(db, event_id: str, state: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _state(db, event_id)
        if row and row[0] == state:
            return row
        time.sleep(0.05)
    raise AssertionError(f"{event_id} is {_state(db, event_id)}, not {state}")


def _dm(user: str, text: str, ts: str) -> dict:
    return {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text, "ts": ts}


def test_a_claim_is_a_lease_until_the_answer(db):
    ledger = EventLedger(db)
    claim = ledger.claim("EvL1", {"event_id": "EvL1"})
    assert claim is not None and ledger.claim("EvL1", {}) is None  # a retry while it is being answered
    assert _state(db, "EvL1") == ("answering", 1, True)
    assert ledger.take_due() == []  # its lease still runs
    ledger.finished(claim)
    assert _state(db, "EvL1") == ("answered", 1, False)  # the body goes with the answer
    assert ledger.claim("EvL1", {}) is None and ledger.take_due() == []


def test_a_handed_back_claim_is_taken_again_until_the_attempts_run_out(db):
    ledger = EventLedger(db)
    ledger.claim("EvL2", {"event_id": "EvL2", "n": 1})
    assert ledger.hand_back() == 1 and ledger.in_flight() == []
    [due] = ledger.take_due()
    assert (due.claim.event_id, due.claim.attempt, due.body) == ("EvL2", 2, {"event_id": "EvL2", "n": 1})
    assert ledger.take_due() == []  # leased to the taker now: nobody else takes it
    for _ in range(MAX_ATTEMPTS - 2):
        ledger.adopt(due.claim)
        ledger.hand_back()
        [due] = ledger.take_due()
    ledger.adopt(due.claim)
    ledger.hand_back()
    assert ledger.take_due() == []
    assert _state(db, "EvL2")[0] == "abandoned"


def test_a_late_finish_with_an_old_token_does_not_end_the_new_lease(db):
    ledger = EventLedger(db)
    first = ledger.claim("EvL3", {"event_id": "EvL3"})
    ledger.hand_back()
    [due] = ledger.take_due()
    ledger.finished(first)  # the first process's answer arrives after all
    assert _state(db, "EvL3")[0] == "answering"
    ledger.finished(due.claim)
    assert _state(db, "EvL3")[0] == "answered"


def test_bolt_still_lets_us_see_a_listener_finish(bot):
    handler = bot.app._listener_runner.listener_completion_handler
    assert isinstance(handler, _FinishClaim)


def test_a_dm_is_marked_answered_only_after_its_answer_is_posted(bot, fake, sample_runtime):
    fake.slow_down("chat.update", 1.0)
    event_id = f"EvA{uuid.uuid4().hex[:10]}"
    status, _, _ = bot.event(_dm("U0SAMPLE", "Does our dental plan cover implants?", "1700009001.000100"), event_id)
    assert status == 200
    time.sleep(0.5)
    assert _state(sample_runtime.db, event_id)[0] == "answering"  # acked, answer not yet delivered
    fake.wait_for("chat.update")
    _wait_state(sample_runtime.db, event_id, "answered")


def test_ignored_and_unhandled_events_are_finished_too(bot, sample_runtime):
    ignored = f"EvI{uuid.uuid4().hex[:10]}"
    bot.event({**_dm("U0SAMPLE", "edited", "1700009002.000100"), "subtype": "message_changed"}, ignored)
    unhandled = f"EvU{uuid.uuid4().hex[:10]}"
    bot.event({"type": "reaction_added", "user": "U0SAMPLE", "reaction": "tada"}, unhandled)
    _wait_state(sample_runtime.db, unhandled, "answered")
    assert _state(sample_runtime.db, ignored) is None  # an edit is never answered, so never claimed


def test_a_listener_that_raises_is_not_answered_twice(bot, fake, sample_runtime, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(bot.bot.services, "ask", broken)
    event_id = f"EvF{uuid.uuid4().hex[:10]}"
    bot.event(_dm("U0SAMPLE", "Does our dental plan cover implants?", "1700009003.000100"), event_id)
    _wait_state(sample_runtime.db, event_id, "failed")
    assert EventLedger(sample_runtime.db).take_due() == []


def test_an_event_left_unanswered_is_answered_by_the_next_process_in_its_placeholder(sample_runtime, fake):
    """As if a process claimed a DM, posted "Looking that up..." and was killed: the next one answers it once,
    in that same message."""
    event_id = f"EvK{uuid.uuid4().hex[:10]}"
    body = json.loads(event_body(_dm("U0SAMPLE", "Does our dental plan cover implants?", "1700009004.000100"),
                                 event_id))
    dead = EventLedger(sample_runtime.db)
    claim = dead.claim(event_id, body)
    dead.note_placeholder(claim, {"channel": "DU0SAMPLE", "ts": "1700009004.000200"})
    dead.hand_back()  # a killed process's lease simply runs out; handing back is the same, sooner
    harness = SlackHarness(sample_runtime, fake)
    try:
        assert redeliver(harness.bot) == 1
        [update] = fake.wait_for("chat.update")
        assert update.args["ts"] == "1700009004.000200"  # the first process's placeholder, resolved
        assert "Sources" in texts([update])
        assert fake.calls_to("chat.postMessage") == []  # no second placeholder
        _wait_state(sample_runtime.db, event_id, "answered")
        assert redeliver(harness.bot) == 0
        time.sleep(0.5)
        assert len(fake.calls_to("chat.update")) == 1
    finally:
        harness.close()


def test_a_delivery_that_cannot_reach_slack_is_tried_again_then_given_up_with_its_asker_to_tell(db):
    ledger = EventLedger(db)
    body = {"event_id": "EvU1", "event": {"type": "message", "channel": "DU0SAMPLE", "user": "U0SAMPLE"}}
    claim = ledger.claim("EvU1", body)
    assert ledger.extend(claim)  # still answering (waiting for Slack): the lease runs on
    assert ledger.undeliverable(claim) == "answering" and ledger.in_flight() == []  # handed back, not 'failed'
    for attempt in range(2, MAX_ATTEMPTS + 1):
        [due] = ledger.take_due()
        assert due.claim.attempt == attempt and not ledger.extend(claim)  # the old attempt's token is no good
        claim = due.claim
        expected = "abandoned" if attempt == MAX_ATTEMPTS else "answering"
        assert ledger.undeliverable(claim) == expected
    assert ledger.take_due() == [] and _state(db, "EvU1") == ("abandoned", MAX_ATTEMPTS, True)  # body kept
    [notice] = ledger.take_undelivered()
    assert notice.body == body and EventLedger(db).take_undelivered() == []  # leased to one replica
    ledger.told(notice.claim, sent=False)  # Slack still down: tried again later
    [notice] = EventLedger(db).take_undelivered()
    ledger.told(notice.claim, sent=True)
    assert ledger.take_undelivered() == [] and _state(db, "EvU1") == ("abandoned", MAX_ATTEMPTS, False)
