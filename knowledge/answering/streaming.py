"""Streaming a chat model's answer as it is written, without showing anything the answer's checks would refuse.

A model's reply is checked before anyone sees it (knowledge.answering.answers: citations renumbered, unknown ones
dropped; a sentence stating a personal figure that no fact or source holds removed). Streamed, the reply is shown
while it is still being written, so the checks run on what has arrived, and only what they pass is released:

- words stream at once while their sentence holds no figure (no digit, no citation bracket);
- from its first figure on, a sentence is held until it is complete (its full stop and a space, or a new line),
  then checked with the rest of the reply so far, and released if the checks leave it as written;
- once the checks would drop a sentence, nothing more is released: the final answer (the same checks on the whole
  reply, as without streaming) differs from what was shown, and the Slack side replaces the message with it.

The gate sits inside the answer chain's respond step (the model's own .stream of `prompt | model | parser`), so
the chain stays one LCEL chain and its fallback (the offline answerer on a timeout or error) works as before.
What it releases goes to an AnswerStream the caller supplies: knowledge/ knows nothing of Slack.
"""
from __future__ import annotations

import re
import time
from typing import Callable, Protocol

from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from knowledge.answering.answers import check_citations
from knowledge.answering.figures import SENTENCE_END  # where guard_personal_numbers splits sentences

# (text, allowed text, facts, question) -> the text as the personal-figure check leaves it (chain.py binds the
# company's languages: their words for "you" and the heading)
Guard = Callable[[str, str, list[str], str], str]
FIGURE = re.compile(r"[\d\[]")  # a digit, or a citation's bracket before its number has arrived


class AnswerStream(Protocol):
    """Where a streamed answer's checked text goes as it grows (the Slack layer's message, a terminal)."""

    def text(self, checked: str) -> None:
        """The answer's checked text so far, plain (not escaped); each call's text extends the previous one."""


class StreamTooSlow(TimeoutError):
    """The model kept sending, but past the time an answer may take: the offline answerer takes over."""


class ReleaseGate:
    """Takes the model's reply piece by piece and passes the checked part of it on (see the module's docstring).
    sources, facts and question are the respond step's: the same inputs the final check uses."""

    def __init__(self, sink: AnswerStream, sources, facts: list[str], question: str, deadline: float,
                 guard: Guard | None = None):
        self.sink, self.sources, self.facts, self.question = sink, sources, facts, question
        self.guard = guard or english_guard
        self.allowed = " ".join([question, *facts, *(d.page_content for d in sources)])
        self.deadline = deadline
        self.raw = ""
        self.shown = ""
        self.refused = False

    def add(self, piece: str) -> None:
        if time.monotonic() > self.deadline:
            raise StreamTooSlow("the chat model's answer took longer than HRBOT_CHAT_TIMEOUT")
        self.raw += piece
        if self.refused:
            return
        checked = self._checked(self._releasable())
        if checked is not None and self.shown.startswith(checked):
            return  # a sentence shown in part is being held from its first figure on: nothing new yet
        if checked is None or not checked.startswith(self.shown):
            self.refused = True  # the final answer will not be what was shown: it replaces the message
            return
        if len(checked) > len(self.shown):
            self.shown = checked
            self.sink.text(checked)

    def _releasable(self) -> str:
        """The reply so far, less the unfinished sentence's tail if that holds a figure."""
        ends = [m.end() for m in SENTENCE_END.finditer(self.raw)]
        cut = ends[-1] if ends else 0
        return self.raw[:cut] if FIGURE.search(self.raw[cut:]) else self.raw

    def _checked(self, text: str) -> str | None:
        """text as the final check would show it, or None when that check would drop any of it."""
        shown, _ = check_citations(text, self.sources)
        if self.facts and self.guard(shown, self.allowed, self.facts, self.question) != shown:
            return None
        return shown


def english_guard(text: str, allowed: str, facts: list[str], question: str) -> str:
    from knowledge.answering.figures import guard_personal_numbers
    from knowledge.profile.language import shipped_pack

    return guard_personal_numbers(text, allowed, facts, shipped_pack("en").addressed, "From your records:", question)


def streamed_assign(key: str, prompt: Runnable, model: Runnable, seconds: float,
                    guard: Guard | None = None) -> RunnableLambda:
    """The input with `key` set to the text `prompt | model | StrOutputParser()` writes (like chain._assign). When
    the input carries an AnswerStream (`stream`), the model's own stream goes through a ReleaseGate; an answer still
    being written after `seconds` is given up (StreamTooSlow), so a model that trickles tokens ends in the offline
    answer like one that stalls (its client's read timeout). Without a stream, the three are invoked as before.

    The model is streamed by itself, not as the last steps of a sequence: closing a sequence's stream early makes
    LangChain read its input to the end for tracing, which is the model's whole reply (a trickling model held the
    answer for as long as it wrote; outside review). The model's own stream closes its HTTP response."""
    written = prompt | model | StrOutputParser()

    def assign(x: dict, config: RunnableConfig) -> dict:
        sink = x.get("stream")
        if sink is None:
            return {**x, key: written.invoke(x, config)}
        gate = ReleaseGate(sink, x["policy"], x["fact_texts"], x["question"], time.monotonic() + seconds, guard)
        chunks = model.stream(prompt.invoke(x, config), config)
        try:
            for chunk in chunks:
                gate.add(chunk.text)
        finally:
            chunks.close()  # ends the HTTP response at once when the answer is given up
        return {**x, key: gate.raw}
    return RunnableLambda(assign, name=f"assign_{key}")
