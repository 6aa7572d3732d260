"""Answers streamed into a thread as the chat model writes them (chat.startStream / appendStream / stopStream).

The answer service releases only checked text (knowledge.answering.streaming); this side turns it into Slack
calls. The stream is started before the answer (an empty streaming message), so a workspace that refuses streaming
is known at once and the answer takes today's way instead (placeholder, then chat.update). While the model writes,
a thread of the stream's own sends what has grown, escaped like every answer (render.answer_markup), at most one
append per APPEND_INTERVAL (Slack's rate limits; the first words go at once). When the answer is done:

- if what was streamed is the start of the final answer (the usual case), the rest of its text and the sources,
  notices and buttons go with chat.stopStream;
- otherwise (the final check removed a sentence, the model failed and the offline answer took over, an append
  failed or may have been applied twice, the answer is longer than a message holds) the stream is stopped and the
  message replaced by chat.update with what the non-streaming path shows, so nothing unchecked stays visible.

Every call goes through the listener's client (bot.patience.PatientClient): a hanging Slack is waited out within
the event's attempt and then raises as on the non-streaming path. An append that failed stops the appends; the
final replacement repairs the message.
"""
from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.patience import transient
from bot.render import ANSWER_LIMIT, answer_blocks, answer_footer_blocks, answer_markup, fallback_text
from bot.services import CLAIM_KEY, BotServices
from knowledge.answering.answers import Answer

log = logging.getLogger(__name__)

APPEND_INTERVAL = 0.2  # seconds between two appends: Slack rates chat.appendStream per minute (tier 4)


class SlackStream:
    """One answer streamed into one thread (an AnswerStream for the answer service)."""

    def __init__(self, client: WebClient, channel: str, thread_ts: str, user: str, team_id: str | None,
                 interval: float = APPEND_INTERVAL):
        self.client, self.channel, self.thread_ts = client, channel, thread_ts
        self.user, self.team_id, self.interval = user, team_id, interval
        self.ts: str | None = None
        self._target = ""   # the escaped text released so far
        self._sent = ""     # what Slack has been sent of it
        self._closing = False
        self._spoiled = False  # an append failed, may have landed twice, or the text changed under it
        self._changed = threading.Condition()
        self._sender = threading.Thread(target=self._send_appends, name="slack-stream", daemon=True)

    def start(self) -> bool:
        """Open the streaming message; False when this workspace or conversation does not stream (not allowed,
        unknown method, bad arguments): the caller answers the old way. A Slack that cannot be reached raises."""
        args = {"channel": self.channel, "thread_ts": self.thread_ts, "recipient_user_id": self.user}
        if self.team_id:
            args["recipient_team_id"] = self.team_id
        try:
            self.ts = self.client.chat_startStream(**args)["ts"]
        except SlackApiError as exc:
            if transient(exc):
                raise
            log.info("streaming is not available here (%s): placeholder and update instead",
                     exc.response.get("error"))
            return False
        self._sender.start()
        return True

    def text(self, checked: str) -> None:
        """The answer's checked text so far (from the answer service's thread): the sender thread sends it."""
        lines = checked.split("\n")
        if lines[-1] == ">":  # a quote's marker whose space has not arrived would be escaped as text
            lines.pop()
        with self._changed:
            self._target = answer_markup("\n".join(lines))
            self._changed.notify()

    def _send_appends(self) -> None:
        while True:
            with self._changed:
                while self._target == self._sent and not self._closing:
                    self._changed.wait()
                if self._closing:
                    return  # the rest goes with chat.stopStream
                target = self._target
            if not target.startswith(self._sent):
                self._spoiled = True
                return
            if not self._append(target[len(self._sent):]):
                return
            self._sent = target
            with self._changed:
                self._changed.wait_for(lambda: self._closing, timeout=self.interval)

    def _append(self, delta: str) -> bool:
        patience = getattr(self.client, "patience", None)
        retries = patience.retries if patience is not None else 0
        try:
            self.client.chat_appendStream(channel=self.channel, ts=self.ts, markdown_text=delta)
        except Exception as exc:
            log.warning("streaming an answer failed (%s): the message is replaced when the answer is done", exc)
            self._spoiled = True
            return False
        if patience is not None and patience.retries != retries:
            self._spoiled = True  # tried again after a failure: Slack may show that text twice
        return True

    def __enter__(self) -> "SlackStream":
        return self

    def __exit__(self, kind, exc, trace) -> None:
        """Leaving before finish() (Slack or the thread history failed): the sender thread ends too."""
        if kind is not None:
            with self._changed:
                self._closing = True
                self._changed.notify()

    def finish(self, answer: Answer, question_id: int | None, escalation: bool) -> None:
        """End the stream with the final answer: the rest and the buttons, or a replacement (see the module)."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._sender.join()  # its call ends within the client's own deadlines
        final = answer_markup(answer.text)
        if not self._spoiled and final.startswith(self._sent) and len(final) <= ANSWER_LIMIT:
            try:
                self.client.chat_stopStream(channel=self.channel, ts=self.ts, markdown_text=final[len(self._sent):]
                                            or None, blocks=answer_footer_blocks(answer, question_id,
                                                                                 escalation=escalation))
                return
            except SlackApiError as exc:
                if transient(exc):
                    raise
                log.warning("could not stop the stream (%s): replacing the message", exc.response.get("error"))
        else:
            self._stop_quietly()
        self.client.chat_update(channel=self.channel, ts=self.ts, text=fallback_text(answer),
                                blocks=answer_blocks(answer, question_id, escalation=escalation))

    def _stop_quietly(self) -> None:
        try:
            self.client.chat_stopStream(channel=self.channel, ts=self.ts)
        except SlackApiError as exc:  # already stopped, or expired: the update below still replaces it
            if transient(exc):
                raise
            log.info("stopping the stream before replacing it: %s", exc.response.get("error"))


def open_stream(services: BotServices, client: WebClient, context, channel: str, thread_ts: str,
                user: str) -> SlackStream | None:
    """A started stream for this answer, or None to answer the old way: no chat model (the offline answer comes
    whole), an event answered again (its earlier message is updated), or a workspace that does not stream."""
    claim = context.get(CLAIM_KEY) if context is not None else None
    if not services.desk.streams or (claim is not None and claim.placeholder):
        return None
    stream = SlackStream(client, channel, thread_ts, user, services.team_id)
    if not stream.start():
        return None
    if claim is not None:  # a redelivery after this process stopped replaces this message instead of a new one
        try:
            services.desk.events.note_placeholder(claim, {"channel": channel, "ts": stream.ts})
        except Exception:
            log.warning("could not note the streamed message of %s", claim.event_id)
    return stream
