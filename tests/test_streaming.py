"""Issue 26 item 1: answers streamed into Slack as the chat model writes them, checked before they are shown.

Signed events into the running bot, the fake OpenAI server streaming its answer word by word (server-sent
events), the fake Slack taking chat.startStream / appendStream / stopStream as Slack documents them."""
import json
import re

import pytest
from langchain_core.documents import Document

from bot.render import THINKING, answer_markup
from knowledge.answering.answers import Answer, Asker
from knowledge.answering.chain import MODEL_DOWN
from knowledge.answering.streaming import ReleaseGate, StreamTooSlow
from tests.fakes.openai_server import FakeOpenAI
from tests.slack_helpers import SlackHarness, texts

PERSONAL = "How much annual leave do I have?"
POLICY = "Does our dental plan cover implants?"


@pytest.fixture
def fake_llm():
    with FakeOpenAI(chunk_delay=0.04) as server:
        yield server


@pytest.fixture
def bot(sample_runtime, fake, fake_llm):
    harness = SlackHarness(sample_runtime, fake, openai_base_url=fake_llm.base_url, chat_timeout=10.0)
    yield harness
    harness.close()


def streamed(fake) -> list[str]:
    """The markdown_text of every stream call, in order (start, appends, stop)."""
    return [c.args.get("markdown_text") or "" for c in fake.calls
            if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream")]


def final_text(update_or_stop_blocks) -> str:
    return "\n".join(b["text"]["text"] for b in update_or_stop_blocks if b["type"] == "section")


def test_a_dm_answer_streams_word_by_word_and_ends_with_sources_and_buttons(bot, fake, fake_llm):
    bot.dm("U0SAMPLE", POLICY, ts="1700002000.000100")
    [stop] = fake.wait_for("chat.stopStream")
    [start] = fake.calls_to("chat.startStream")
    assert start.args["channel"] == "DU0SAMPLE" and start.args["thread_ts"] == "1700002000.000100"
    assert start.args["recipient_user_id"] == "U0SAMPLE" and start.args["recipient_team_id"] == "T0TEST"
    appends = fake.calls_to("chat.appendStream")
    assert len(appends) >= 2
    assert all(a.args["ts"] == start.result["ts"] for a in appends + [stop])
    # the words shown one after the other make the answer: nothing shown twice, nothing left out
    whole = fake.streamed_text(start.result["ts"])
    assert "implants" in whole and "[1]" in whole
    assert not fake.calls_to("chat.update") and not [c for c in fake.calls_to("chat.postMessage")
                                                     if c.args.get("text") == THINKING]
    blocks = stop.args["blocks"]
    assert "Benefits Guide 2026" in json.dumps(blocks) and "Sources" in json.dumps(blocks)
    actions = [b for b in blocks if b["type"] == "actions"][0]["elements"]
    assert [a["action_id"] for a in actions] == ["hr_feedback_up", "hr_feedback_down", "hr_escalate"]
    assert len(fake_llm.chat_requests) == 1 and fake_llm.chat_requests[0]["stream"] is True


def test_the_streamed_text_is_the_answer_the_old_path_would_show(bot, fake, sample_runtime):
    """The same question answered without streaming (the desk, no sink) gives the text that was streamed."""
    bot.dm("U0SAMPLE", PERSONAL, ts="1700002010.000100")
    [stop] = fake.wait_for("chat.stopStream")
    whole = fake.streamed_text(stop.args["ts"])
    answer = bot.runtime.answers.answer(PERSONAL, Asker("U0SAMPLE"))
    assert whole == answer_markup(answer.text)
    assert "days available" in whole


def test_a_figure_is_shown_only_once_its_sentence_is_complete(bot, fake):
    bot.dm("U0SAMPLE", PERSONAL, ts="1700002020.000100")
    [stop] = fake.wait_for("chat.stopStream")
    so_far = ""
    for text in streamed(fake)[:-1]:  # every append: a sentence holding a figure arrives whole
        so_far += text
        unfinished = re.split(r"[.!?](?:\s|$)|\n", so_far)[-1]  # a full stop ends it (its space comes later)
        assert not re.search(r"\d", unfinished), so_far
    assert re.search(r"\d", so_far)  # figures were streamed, once checked


def test_a_figure_the_check_refuses_is_never_shown_and_the_message_is_replaced(bot, fake):
    bot.dm("U0SAMPLE", f"{PERSONAL} FAKE-WRONG-NUMBER", ts="1700002030.000100")
    [update] = fake.wait_for("chat.update")
    [stop] = fake.calls_to("chat.stopStream")
    assert update.args["ts"] == stop.args["ts"]  # the streamed message itself is replaced, after it stopped
    assert fake.calls.index(stop) < fake.calls.index(update)
    assert not any("99" in text for text in streamed(fake))
    shown = texts([update])
    assert "99 days" not in shown and "From your records" in shown and "days available" in shown


def test_the_assistant_panel_streams_into_its_thread(bot, fake):
    bot.event({"type": "assistant_thread_started", "assistant_thread": {
        "user_id": "U0SAMPLE", "channel_id": "DU0SAMPLE", "thread_ts": "1700002100.000100",
        "context": {}}, "event_ts": "1700002100.000200"})
    fake.wait_for("assistant.threads.setSuggestedPrompts")
    bot.dm("U0SAMPLE", POLICY, ts="1700002101.000100", thread_ts="1700002100.000100")
    [stop] = fake.wait_for("chat.stopStream")
    fake.wait_for("assistant.threads.setStatus")
    [start] = fake.calls_to("chat.startStream")
    assert start.args["thread_ts"] == "1700002100.000100"
    assert len(fake.calls_to("chat.appendStream")) >= 2
    assert "implants" in fake.streamed_text(stop.args["ts"]) and "Benefits Guide 2026" in json.dumps(stop.args)
    assert len(fake.calls_to("chat.postMessage")) == 1  # the greeting; the answer was the stream


def test_a_workspace_that_refuses_streaming_gets_the_placeholder_and_update(bot, fake):
    fake.refuse_streaming("unknown_method")
    bot.dm("U0SAMPLE", POLICY, ts="1700002200.000100")
    [update] = fake.wait_for("chat.update")
    [placeholder] = fake.calls_to("chat.postMessage")
    assert placeholder.args["text"] == THINKING and update.args["ts"] == placeholder.result["ts"]
    assert "implants" in texts([update]) and "Benefits Guide 2026" in texts([update])
    assert not fake.calls_to("chat.appendStream")


def test_the_slash_command_answers_the_old_way(bot, fake):
    bot.command("U0SAMPLE", POLICY)
    [reply] = fake.wait_for("response_url:cmd")
    assert "implants" in texts([reply])
    assert not fake.calls_to("chat.startStream")


def test_a_model_that_stalls_mid_answer_ends_in_the_quoted_passages(sample_runtime, fake, fake_llm):
    """Two words, then nothing: the chat client's read timeout (HRBOT_CHAT_TIMEOUT) ends the wait, the offline
    answer takes over (the kind note and the passages), and it replaces the two words shown."""
    harness = SlackHarness(sample_runtime, fake, openai_base_url=fake_llm.base_url, chat_timeout=1.0)
    try:
        harness.dm("U0SAMPLE", f"{POLICY} FAKE-STALL", ts="1700002300.000100")
        [update] = fake.wait_for("chat.update", timeout=20)
    finally:
        harness.close()
    [stop] = fake.calls_to("chat.stopStream")
    assert update.args["ts"] == stop.args["ts"]
    assert MODEL_DOWN.strip("_") in texts([update]) and "Benefits Guide 2026" in texts([update])


def test_an_append_slack_refuses_ends_in_the_whole_answer_by_update(bot, fake):
    fake.fail_next("chat.appendStream", status=200, error="message_not_in_streaming_state")
    bot.dm("U0SAMPLE", POLICY, ts="1700002400.000100")
    [update] = fake.wait_for("chat.update")
    assert len(fake.calls_to("chat.appendStream")) == 1  # no more appends after a refused one
    assert "implants" in texts([update]) and "Sources" in texts([update])


def test_without_a_chat_model_the_offline_answer_takes_the_old_path(sample_runtime, fake):
    harness = SlackHarness(sample_runtime, fake)
    try:
        harness.dm("U0SAMPLE", POLICY, ts="1700002500.000100")
        [update] = fake.wait_for("chat.update")
    finally:
        harness.close()
    assert "implants" in texts([update]) and not fake.calls_to("chat.startStream")


def test_the_fake_slack_checks_stream_arguments_like_slack(fake):
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.chat_startStream(channel="C0GENERAL", thread_ts="1.2")  # a channel needs the recipient
    ts = client.chat_startStream(channel="C0GENERAL", thread_ts="1.2", recipient_user_id="U0SAMPLE",
                                 recipient_team_id="T0TEST")["ts"]
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.chat_appendStream(channel="C0GENERAL", ts=ts)
    client.chat_stopStream(channel="C0GENERAL", ts=ts, markdown_text="done")
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        client.chat_appendStream(channel="C0GENERAL", ts=ts, markdown_text="more")
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(base_url=fake.base_url).chat_startStream(channel="D1", thread_ts="1.2")


# --- the gate itself, piece by piece ---------------------------------------------------------------------------

class Shown:
    def __init__(self):
        self.texts: list[str] = []

    def text(self, checked: str) -> None:
        self.texts.append(checked)


SOURCES = [Document(page_content="Full-time staff get 25 days of annual leave. After 5 years it is 27 days.",
                    metadata={"source": "leave.md", "document_id": 1}),
           Document(page_content="Leave is booked in the HR system.", metadata={"source": "booking.md",
                                                                                "document_id": 2})]
FACTS = ["Annual leave 2026: 17.5 days available."]


def fed(reply: str, facts=FACTS) -> tuple[ReleaseGate, Shown]:
    shown = Shown()
    gate = ReleaseGate(shown, SOURCES, facts, PERSONAL, deadline=float("inf"))
    for piece in re.findall(r"\S+\s*|\s+", reply):
        gate.add(piece)
    return gate, shown


def test_the_gate_streams_words_at_once_and_a_figure_with_its_checked_sentence():
    gate, shown = fed("You can book leave in the HR system [2]. You have 17.5 days left [1]. Enjoy them.")
    assert shown.texts[0] == "You"  # plain words go at once
    assert "You can book leave in the HR system" in shown.texts  # up to the citation's bracket
    with_figure = [t for t in shown.texts if "17" in t]
    assert with_figure[0].endswith("You have 17.5 days left [2].")  # whole, renumbered as the final check does
    assert not gate.refused and shown.texts[-1].endswith("Enjoy them.")


def test_the_gate_never_releases_a_figure_the_check_would_remove():
    gate, shown = fed("You can book leave in the HR system [2]. You have 99 days left. Enjoy them.")
    assert gate.refused
    assert not any("99" in t for t in shown.texts)
    assert "Enjoy" not in shown.texts[-1]  # after a refused sentence nothing more is released


def test_the_gate_drops_a_citation_to_no_source_before_it_is_shown():
    gate, shown = fed("Leave is booked in the HR system [7]. Ask HR.", facts=[])
    assert not any("[7]" in t for t in shown.texts) and shown.texts[-1] == "Leave is booked in the HR system. Ask HR."


def test_the_gate_gives_up_on_an_answer_past_its_time():
    gate = ReleaseGate(Shown(), SOURCES, [], POLICY, deadline=0.0)
    with pytest.raises(StreamTooSlow):
        gate.add("late")


def test_slack_hanging_on_an_append_ends_in_the_whole_answer_once(sample_runtime, fake, fake_llm, monkeypatch):
    """Appends held past the client's timeout, then carried out (Slack did the work, its answers were lost): text
    may now show twice, so when the answer is done the message is replaced by it, within the event's attempt."""
    import bot.patience as patience

    monkeypatch.setattr(patience, "BACKOFF_CAP", 2.0)
    harness = SlackHarness(sample_runtime, fake, openai_base_url=fake_llm.base_url, chat_timeout=10.0)
    harness.app.client.timeout = 1.0  # each event's PatientClient copies it
    try:
        fake.hang(3.0, methods={"chat.appendStream"}, processed=True)
        harness.dm("U0SAMPLE", POLICY, ts="1700002600.000100")
        [update] = fake.wait_for("chat.update", timeout=30)
    finally:
        harness.close()
    assert fake.held  # the hang was felt
    [start] = fake.calls_to("chat.startStream")
    assert update.args["ts"] == start.result["ts"] and "implants" in texts([update])
    assert "Sources" in texts([update]) and len(fake.calls_to("chat.update")) == 1


def test_hrbot_ask_streams_on_request_and_json_is_unchanged(sample_runtime, fake_llm):
    from dataclasses import replace as with_settings

    from click.testing import CliRunner

    from bot.cli import cli
    from knowledge.runtime import Runtime

    settings = with_settings(sample_runtime.settings, openai_base_url=fake_llm.base_url, chat_timeout=10.0)
    rt = Runtime(settings, db=sample_runtime.db, embeddings=sample_runtime.embeddings)
    as_json = CliRunner().invoke(cli, ["ask", POLICY, "--as", "U0SAMPLE", "--json"], obj=rt,
                                 catch_exceptions=False)
    assert json.loads(as_json.output)["citations"] and fake_llm.chat_requests[-1].get("stream") is not True
    printed = CliRunner().invoke(cli, ["ask", POLICY, "--as", "U0SAMPLE", "--stream"], obj=rt,
                                 catch_exceptions=False)
    assert fake_llm.chat_requests[-1]["stream"] is True
    answer = json.loads(as_json.output)["answer"]
    assert printed.output.startswith(answer) and "Sources:" in printed.output
    assert "replaced" not in printed.output


def test_streamed_words_are_escaped_and_batched(fake):
    """Text from documents reaches Slack inert (`<!channel>` does not ping), and words arriving faster than the
    append interval go together rather than one call each."""
    from slack_sdk import WebClient

    from bot.streaming import SlackStream

    stream = SlackStream(WebClient(token="xoxb-test", base_url=fake.base_url), "DU0SAMPLE", "1.2", "U0SAMPLE",
                         "T0TEST", interval=0.5)
    assert stream.start()
    text = ""
    for word in "<!channel> please read & <https://evil.example|this> now".split():
        text = f"{text} {word}".strip()
        stream.text(text)
    stream.finish(Answer(text, supported=True), question_id=7, escalation=True)
    whole = fake.streamed_text(stream.ts)
    assert whole == "&lt;!channel&gt; please read &amp; this (https://evil.example) now"  # as render.plain shows it
    assert not fake.calls_to("chat.update")
    assert len(fake.calls_to("chat.appendStream")) < 7  # seven words, fewer calls
    [stop] = fake.calls_to("chat.stopStream")
    assert [b["type"] for b in stop.args["blocks"]] == ["actions"]


def test_the_streamed_message_is_the_one_a_redelivery_would_update(bot, fake, fake_llm, sample_runtime):
    """A process that dies mid-stream leaves a message; the event's placeholder is that message, so the next
    process replaces it (the old path, tests/test_event_leases.py) rather than posting a second answer."""
    import uuid

    event_id = f"EvS{uuid.uuid4().hex[:10]}"
    fake_llm.chunk_delay = 0.2  # a slow writer: the answer is still streaming when the event is looked at
    bot.dm("U0SAMPLE", POLICY, ts="1700002700.000100", event_id=event_id)
    [start] = fake.wait_for("chat.startStream")
    fake.wait_for("chat.appendStream")  # mid-stream (the placeholder is cleared once the event is answered)
    with sample_runtime.db.owner.connection() as conn:
        [(placeholder,)] = conn.execute("SELECT placeholder FROM processed_events WHERE event_id = %s",
                                        [event_id]).fetchall()
    fake.wait_for("chat.stopStream")
    assert placeholder == {"channel": "DU0SAMPLE", "ts": start.result["ts"]}


def test_a_model_that_trickles_past_the_time_limit_is_cut_off_not_read_to_the_end(sample_runtime, fake):
    """Outside review: words stopped at HRBOT_CHAT_TIMEOUT, but the answer came only when the model had written its
    last word (closing LangChain's sequence stream read the rest for tracing). The model's stream is now closed at
    the limit: the quoted passages replace the words shown while the model is still writing."""
    with FakeOpenAI(chunk_delay=0.5) as llm:  # about ten words: five seconds to write, the limit is one
        harness = SlackHarness(sample_runtime, fake, openai_base_url=llm.base_url, chat_timeout=1.0)
        try:
            harness.dm("U0SAMPLE", POLICY, ts="1700002950.000100")
            [update] = fake.wait_for("chat.update", timeout=20)
            assert llm.streams_done == 0  # answered before the model got to its end
        finally:
            harness.close()
    assert MODEL_DOWN.strip("_") in texts([update]) and len(fake.calls_to("chat.stopStream")) == 1
