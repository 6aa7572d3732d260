"""The Slack bot end to end: signed requests into `hrbot serve --http`'s server, a fake Slack Web API out."""
import json
import re
import time
import uuid

import pytest
from slack_bolt import BoltRequest

from bot.listeners.actions import NOT_YOURS
from bot.listeners.messages import PRIVATE_NOTE
from bot.render import THINKING
from tests.fakes.openai_server import FakeOpenAI
from tests.slack_helpers import SlackHarness, texts


@pytest.fixture
def bot(sample_runtime, fake):
    harness = SlackHarness(sample_runtime, fake)
    yield harness
    harness.close()


def logged(db, sql, params=None):
    """What was stored, read as the owner (the runtime role may not read logged answers)."""
    with db.owner.connection() as conn:
        return conn.execute(sql, params).fetchall()


def test_dm_question_gets_placeholder_then_cited_answer_in_thread(bot, fake):
    status, _, seconds = bot.dm("U0SAMPLE", "How much annual leave do I have?", ts="1700000100.000100")
    assert status == 200 and seconds < 3
    [update] = fake.wait_for("chat.update")
    [placeholder] = fake.calls_to("chat.postMessage")
    assert placeholder.args["text"] == THINKING and placeholder.args["thread_ts"] == "1700000100.000100"
    shown = texts([update])
    assert "days available" in shown and "Annual Leave Policy" in shown and "Sources" in shown
    actions = [b for b in update.args["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [a["action_id"] for a in actions] == ["hr_feedback_up", "hr_feedback_down", "hr_escalate"]


def test_follow_up_in_a_dm_thread_uses_the_thread_as_history(bot, fake):
    fake.set_replies("DU0SAMPLE", "1700000200.000100", [
        {"user": "U0SAMPLE", "text": "How many days of annual leave do full-time staff get in Germany?",
         "ts": "1700000200.000100"},
        {"bot_id": "B0BOT", "user": "UBOT", "text": "30 days [1]", "ts": "1700000201.000100"},
        {"user": "U0SAMPLE", "text": "and in the UK?", "ts": "1700000202.000100"}])
    bot.dm("U0SAMPLE", "and in the UK?", ts="1700000202.000100", thread_ts="1700000200.000100")
    answer = fake.wait_for("chat.postMessage")[-1]  # the status API showed progress, then the answer
    assert fake.calls_to("conversations.replies")
    assert answer.args["thread_ts"] == "1700000200.000100"
    assert "Annual Leave Policy" in texts([answer])  # "and in the UK?" alone would not find it


def test_assistant_thread_flow(bot, fake):
    bot.event({"type": "assistant_thread_started", "assistant_thread": {
        "user_id": "U0SAMPLE", "channel_id": "DU0SAMPLE", "thread_ts": "1700000300.000100",
        "context": {}}, "event_ts": "1700000300.000200"})
    [greeting] = fake.wait_for("chat.postMessage")
    assert "HR questions" in greeting.args["text"]
    [prompts] = fake.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts.args["prompts"][0]["message"] == "How much annual leave do I have?"
    bot.dm("U0SAMPLE", "Does our dental plan cover implants?", ts="1700000301.000100",
           thread_ts="1700000300.000100")
    fake.wait_for("assistant.threads.setStatus")
    [title] = fake.wait_for("assistant.threads.setTitle")
    assert title.args["title"] == "Does our dental plan cover implants?"
    answer = fake.wait_for("chat.postMessage", 2)[-1]
    assert answer.args["thread_ts"] == "1700000300.000100"
    assert "implants" in texts([answer]) and "Benefits Guide 2026" in texts([answer])


def test_channel_mention_keeps_personal_data_out_of_the_channel(bot, fake):
    bot.event({"type": "app_mention", "channel": "C0GENERAL", "user": "U0SAMPLE", "ts": "1700000400.000100",
               "text": "<@UBOT> How much annual leave do I have?"})
    [private] = fake.wait_for("chat.postEphemeral")
    public = fake.calls_to("chat.postMessage") + fake.calls_to("chat.update")
    assert all(c.args["channel"] == "C0GENERAL" for c in public)
    shown_in_channel = texts(public)
    for personal in ("days available", "Hannah", "carried over", "E001", "booked ahead"):
        assert personal not in shown_in_channel
    assert "Annual Leave Policy" in shown_in_channel and PRIVATE_NOTE in shown_in_channel
    assert private.args["user"] == "U0SAMPLE" and "days available" in texts([private])


def mention_own_balance(harness, fake, ts):
    harness.event({"type": "app_mention", "channel": "C0GENERAL", "user": "U0SAMPLE", "ts": ts,
                   "text": "<@UBOT> How much annual leave do I have left?"})
    [private] = fake.wait_for("chat.postEphemeral")
    [update] = fake.wait_for("chat.update")
    figures = re.search(r"= ([\d.]+) days available", texts([private]))
    assert private.args["user"] == "U0SAMPLE" and figures, texts([private])
    shown_in_channel = texts(fake.calls_to("chat.postMessage") + [update])
    assert "days available" not in shown_in_channel and f"{figures[1]} days" not in shown_in_channel
    assert "Annual Leave Policy" in shown_in_channel and PRIVATE_NOTE in shown_in_channel
    return private, update


def questions_logged(db) -> int:
    return logged(db, "SELECT count(*) FROM questions")[0][0]


def test_a_personal_mention_is_answered_and_logged_once(bot, fake, sample_runtime):
    before = questions_logged(sample_runtime.db)
    mention_own_balance(bot, fake, "1700000420.000100")
    assert questions_logged(sample_runtime.db) == before + 1  # /hr-admin stats and gaps count it once


@pytest.fixture
def fake_llm():
    with FakeOpenAI() as server:
        yield server


def test_a_personal_mention_calls_the_chat_model_once(sample_runtime, fake, fake_llm):
    harness = SlackHarness(sample_runtime, fake, openai_base_url=fake_llm.base_url)
    try:
        before = questions_logged(sample_runtime.db)
        _, update = mention_own_balance(harness, fake, "1700000430.000100")
    finally:
        harness.close()
    assert len(fake_llm.chat_requests) == 1  # no thread, so nothing to condense: one answer request
    assert questions_logged(sample_runtime.db) == before + 1
    assert "No AI model is configured" not in texts([update])


def test_policy_mention_is_answered_in_the_thread(bot, fake):
    bot.event({"type": "app_mention", "channel": "C0GENERAL", "user": "U0SAMPLE", "ts": "1700000450.000100",
               "text": "<@UBOT> Does our dental plan cover implants?"})
    [update] = fake.wait_for("chat.update")
    assert update.args["channel"] == "C0GENERAL" and "implants" in texts([update])
    assert not fake.calls_to("chat.postEphemeral")


def test_slash_command_answers_ephemerally(bot, fake):
    status, body, seconds = bot.command("U0SAMPLE", "Does our dental plan cover implants?")
    assert status == 200 and seconds < 3
    assert json.loads(body)["response_type"] == "ephemeral"
    [reply] = fake.wait_for("response_url:cmd")
    assert reply.args["response_type"] == "ephemeral" and reply.args["replace_original"] is True
    assert "implants" in texts([reply])
    assert not fake.calls_to("chat.postMessage")


def test_slash_command_help(bot, fake):
    status, body, _ = bot.command("U0SAMPLE", "")
    data = json.loads(body)
    assert status == 200 and data["response_type"] == "ephemeral" and "/hr How much annual leave" in body


def test_feedback_is_stored_and_not_helpful_asks_why(bot, fake, sample_runtime):
    bot.command("U0SAMPLE", "Does our dental plan cover implants?")
    [reply] = fake.wait_for("response_url:cmd")
    question_id = [b for b in reply.args["blocks"] if b["type"] == "actions"][0]["elements"][0]["value"]
    bot.action("U0SAMPLE", "hr_feedback_up", question_id)
    fake.wait_for("response_url:act")
    assert logged(sample_runtime.db, "SELECT helpful FROM feedback WHERE question_id = %s",
                  [int(question_id)]) == [(True,)]
    bot.action("U0SAMPLE", "hr_feedback_down", question_id)
    [modal] = fake.wait_for("views.open")
    assert modal.args["view"]["private_metadata"] == question_id
    submission = {"type": "view_submission", "user": {"id": "U0SAMPLE"}, "team": {"id": "T0TEST"},
                  "view": {"id": "V1", "type": "modal", "callback_id": "hr_feedback_modal", "private_metadata": question_id,
                           "state": {"values": {"comment": {"text": {"type": "plain_text_input",
                                                                     "value": "It missed the accident rule"}}}}}}
    from tests.fakes.slack_api import action_body

    status, _, _ = bot.post(action_body(submission))
    assert status == 200
    deadline = time.time() + 5
    while time.time() < deadline:
        rows = logged(sample_runtime.db, "SELECT helpful, comment FROM feedback WHERE question_id = %s",
                      [int(question_id)])
        if rows and rows[0][1]:
            break
        time.sleep(0.05)
    assert rows == [(False, "It missed the accident rule")]
    [(question, answer, supported)] = logged(
        sample_runtime.db, "SELECT question, answer, supported FROM questions WHERE question_id = %s",
        [int(question_id)])
    assert question == "Does our dental plan cover implants?" and "implants" in answer and supported


def test_talk_to_hr_posts_to_the_hr_channel_once_and_only_for_the_asker(bot, fake):
    bot.command("U0SAMPLE", "Can I carry over more than 5 days?")
    [reply] = fake.wait_for("response_url:cmd")
    question_id = [b for b in reply.args["blocks"] if b["type"] == "actions"][0]["elements"][2]["value"]
    bot.action("U05K2M8PRQ", "hr_escalate", question_id, response_name="other")
    [refused] = fake.wait_for("response_url:other")
    assert refused.args["text"] == NOT_YOURS
    bot.action("U0SAMPLE", "hr_escalate", question_id)
    [told] = fake.wait_for("response_url:act")
    assert "sent your question to HR" in told.args["text"]
    [posted] = fake.wait_for("chat.postMessage")
    assert posted.args["channel"] == "CHRTEAM" and "Can I carry over more than 5 days?" in texts([posted])
    bot.action("U0SAMPLE", "hr_escalate", question_id, response_name="again")  # a double click
    fake.wait_for("response_url:again")
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_talk_to_hr_is_only_reported_as_sent_once_the_post_succeeded(bot, fake):
    bot.command("U0SAMPLE", "Can I take unpaid leave for a family emergency?")
    [reply] = fake.wait_for("response_url:cmd")
    question_id = [b for b in reply.args["blocks"] if b["type"] == "actions"][0]["elements"][2]["value"]
    fake.fail_next("chat.postMessage", status=200, error="channel_not_found")
    bot.action("U0SAMPLE", "hr_escalate", question_id, response_name="failed")
    [failed] = fake.wait_for("response_url:failed")
    [lost] = fake.calls_to("chat.postMessage")
    assert lost.args["channel"] == "CHRTEAM"
    assert "nothing was sent" in failed.args["text"] and "sent your question to HR" not in failed.args["text"]
    assert "channel_not_found" not in failed.args["text"]
    bot.action("U0SAMPLE", "hr_escalate", question_id, response_name="retry")
    [told] = fake.wait_for("response_url:retry")
    assert "sent your question to HR" in told.args["text"]
    [_, posted] = fake.calls_to("chat.postMessage")
    assert posted.args["channel"] == "CHRTEAM" and "family emergency" in texts([posted])


def test_forged_and_stale_requests_are_rejected_and_nothing_is_posted(bot, fake):
    status, _, _ = bot.dm("U0SAMPLE", "How much annual leave do I have?", secret="not-the-secret")
    assert status == 401
    status, _, _ = bot.dm("U0SAMPLE", "How much annual leave do I have?", timestamp=int(time.time()) - 600)
    assert status == 401
    time.sleep(0.5)
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


def test_url_verification_and_health(bot):
    status, body, _ = bot.post(json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}))
    assert status == 200 and "abc123" in body
    import urllib.request

    with urllib.request.urlopen(bot.url + "/healthz", timeout=5) as response:
        assert response.status == 200 and json.loads(response.read())["status"] == "ok"
    with urllib.request.urlopen(bot.url + "/readyz", timeout=5) as response:
        assert response.status == 200 and json.loads(response.read())["database"] == "ok"


def test_the_same_event_three_times_gets_one_answer(bot, fake):
    for retry in ("", "1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        status, _, _ = bot.dm("U0SAMPLE", "Does our dental plan cover implants?", ts="1700000500.000100",
                              event_id="EvSAME0001", headers=headers)
        assert status == 200
    fake.wait_for("chat.update")
    time.sleep(1.0)
    assert len(fake.calls_to("chat.update")) == 1 and len(fake.calls_to("chat.postMessage")) == 1


def test_duplicates_are_caught_across_app_instances(sample_runtime, fake, bot):
    other = SlackHarness(sample_runtime, fake)  # a second replica sharing the database
    try:
        bot.dm("U0SAMPLE", "Does our dental plan cover implants?", ts="1700000550.000100", event_id="EvREPLICA1")
        other.dm("U0SAMPLE", "Does our dental plan cover implants?", ts="1700000550.000100", event_id="EvREPLICA1")
        fake.wait_for("chat.update")
        time.sleep(1.0)
        assert len(fake.calls_to("chat.update")) == 1
    finally:
        other.close()


def test_bots_edits_and_deletions_are_ignored(bot, fake):
    bot.event({"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "bot_id": "B0BOT", "user": "UBOT",
               "text": "an answer", "ts": "1700000600.000100"})
    bot.event({"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "DU0SAMPLE",
               "message": {"user": "U0SAMPLE", "text": "edited"}, "ts": "1700000601.000100"})
    bot.event({"type": "message", "subtype": "message_deleted", "channel_type": "im", "channel": "DU0SAMPLE",
               "ts": "1700000602.000100"})
    time.sleep(1.0)
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


def test_slack_rate_limit_is_retried_after_retry_after(bot, fake):
    fake.fail_next("chat.update", status=429, retry_after=1)
    bot.dm("U0SAMPLE", "Does our dental plan cover implants?", ts="1700000700.000100")
    calls = fake.wait_for("chat.update", 2)
    assert calls[1].at - calls[0].at >= 0.9
    assert "implants" in texts([calls[1]])


def test_a_look_alike_account_gets_no_records_and_an_unknown_user_is_told_kindly(bot, fake):
    """U0NEWBIE's profile email is Hannah's in another letter case, but Hannah's record is bound to U0SAMPLE: a
    bound Slack id always wins, so the second account gets nothing of hers (issue 21 item 3)."""
    bot.dm("U0NEWBIE", "How much annual leave do I have?", ts="1700000800.000100")
    [update] = fake.wait_for("chat.update")
    assert fake.calls_to("users.info") and "days available" not in texts([update])
    assert "No HR record is linked to your Slack account" in texts([update])
    bot.dm("U0STRANGER", "How much annual leave do I have?", ts="1700000801.000100")
    update = fake.wait_for("chat.update", 2)[-1]
    assert "No HR record is linked to your Slack account" in texts([update])


def test_socket_mode_requests_go_through_the_same_dispatch(bot, fake):
    body = {"type": "event_callback", "event_id": "EvSOCKET01", "team_id": "T0TEST", "api_app_id": "A0APP",
            "event": {"type": "message", "channel_type": "im", "channel": "DU0SAMPLE", "user": "U0SAMPLE",
                      "text": "Does our dental plan cover implants?", "ts": "1700000900.000100"}}
    response = bot.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200
    [update] = fake.wait_for("chat.update")
    assert "implants" in texts([update])


def test_app_home_shows_leave_and_admin_status(bot, fake):
    bot.event({"type": "app_home_opened", "user": "U0SAMPLE", "tab": "home", "channel": "DU0SAMPLE"})
    [home] = fake.wait_for("views.publish")
    assert home.args["user_id"] == "U0SAMPLE" and "days available" in json.dumps(home.args["view"])
    assert "Knowledge base" not in json.dumps(home.args["view"])
    bot.event({"type": "app_home_opened", "user": "U0ADMIN", "tab": "home", "channel": "DU0ADMIN"})
    admin = fake.wait_for("views.publish", 2)[-1]
    assert "Knowledge base" in json.dumps(admin.args["view"]) and "documents" in json.dumps(admin.args["view"])


def test_database_down_gets_a_kind_message(sample_runtime, fake):
    from knowledge.database.connection import Database
    from knowledge.runtime import Runtime

    dead = Runtime(sample_runtime.settings, db=Database("postgresql://x@127.0.0.1:1/none?connect_timeout=1"),
                   embeddings=sample_runtime.embeddings)
    harness = SlackHarness(dead, fake)
    try:
        status, _, seconds = harness.dm("U0SAMPLE", "How much annual leave do I have?", ts="1700001000.000100")
        assert status == 200 and seconds < 3
        [update] = fake.wait_for("chat.update", timeout=30)
        shown = texts([update])
        assert "can't reach the HR knowledge base" in shown
        assert "127.0.0.1" not in shown and "Traceback" not in shown and "psycopg" not in shown
    finally:
        harness.close()


def test_rejected_requests_are_logged_without_their_body(bot, caplog):
    import logging

    with caplog.at_level(logging.DEBUG):
        status, _, _ = bot.post('{"type":"event_callback","event":{"text":"my secret question"}}', secret="forged")
    assert status == 401
    assert "Invalid request signature" in caplog.text and "my secret question" not in caplog.text


def test_only_the_asker_rates_an_answer(bot, fake):
    bot.command("U0SAMPLE", "Does our dental plan cover implants?")
    [reply] = fake.wait_for("response_url:cmd")
    question_id = [b for b in reply.args["blocks"] if b["type"] == "actions"][0]["elements"][1]["value"]
    bot.action("U05K2M8PRQ", "hr_feedback_down", question_id, response_name="other")
    [refused] = fake.wait_for("response_url:other")
    assert refused.args["text"] == "Only the person who asked can rate this answer."
    assert not fake.calls_to("views.open")


def test_a_mention_from_someone_without_a_record_is_answered_once(bot, fake):
    """Issue 23 item 9: the thread got the answer and the asker an ephemeral copy of the same answer."""
    bot.event({"type": "app_mention", "channel": "C0GENERAL", "user": "U0STRANGER", "ts": "1700000460.000100",
               "text": "<@UBOT> Does our dental plan cover implants?"})
    [update] = fake.wait_for("chat.update")
    assert update.args["channel"] == "C0GENERAL" and "implants" in texts([update])
    assert "No HR record" not in texts([update])
    time.sleep(0.5)
    [private] = fake.calls_to("chat.postEphemeral")
    assert "No HR record is linked" in private.args["text"] and "implants" not in texts([private])


def test_edits_and_deletions_in_a_dm_thread_are_not_claimed(bot, fake, sample_runtime):
    """Issue 23 item 7: Bolt's Assistant middleware acks message_changed/deleted in assistant threads without a
    listener; their claims were never finished, came back twice and ended in "giving up"."""
    for n, subtype in enumerate(("message_changed", "message_deleted")):
        event_id = f"EvEdit{n}{uuid.uuid4().hex[:8]}"
        status, _, _ = bot.event({"type": "message", "subtype": subtype, "channel_type": "im", "channel": "DU0SAMPLE",
                                  "user": "U0SAMPLE", "ts": f"1700000470.00010{n}",
                                  "message": {"text": "edited", "thread_ts": "1700000100.000100"},
                                  "thread_ts": "1700000100.000100"}, event_id)
        assert status == 200
        with sample_runtime.db.connection() as conn:
            assert conn.execute("SELECT count(*) FROM processed_events WHERE event_id = %s",
                                [event_id]).fetchone()[0] == 0


def test_a_full_database_disk_still_acks_and_answers_kindly(bot, fake, monkeypatch):
    """The outside probe of issue 22 (F2): with the database's disk full every event got HTTP 500 (the claim's
    INSERT raised DiskFull) and the question was lost."""
    from knowledge.errors import DiskFull

    def full(*args, **kwargs):
        raise DiskFull("The database's disk is full, so nothing was changed.")

    monkeypatch.setattr(bot.bot.desk, "claim_event", full)
    monkeypatch.setattr(bot.runtime.answers, "answer", full)
    status, _, _ = bot.dm("U0SAMPLE", "How much annual leave do I have?", ts="1700000990.000100")
    assert status == 200
    [update] = fake.wait_for("chat.update")
    assert "can't reach the HR knowledge base" in texts([update]) and "disk" not in texts([update])
