"""Answering in a thread: placeholder or status first, then the answer with sources and buttons."""
from __future__ import annotations

import re
from contextlib import nullcontext
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import answer_blocks, fallback_text
from bot.services import BotServices
from bot.streaming import open_stream

MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
# Files shared in a message: True when the event was one (handled, whatever the outcome). The employees' listeners
# get this from the admin side (bot/listeners/admin.py FileShares) and know nothing else of it.
SharedFiles = Callable[[dict, WebClient], bool]
IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "message_replied", "channel_join",
                    "channel_leave", "thread_broadcast", "ekm_access_denied"}


def is_from_a_person(event: dict, bot_user_id: str | None) -> bool:
    """Only people's new messages: never bots (this one included), edits, deletions or joins."""
    return (not event.get("bot_id") and event.get("subtype") not in IGNORED_SUBTYPES
            and event.get("user") is not None and event.get("user") != bot_user_id)


def clean_question(text: str, addressing: set[str | None] | frozenset = frozenset()) -> str:
    """The question without the mentions that only address someone: the bot's own ("@HR bot how much leave do I
    have?") and the asker's of themself. Any other mention stays as Slack wrote it (<@U0BOB>), so the "someone
    else" guard sees it: stripped, "how much leave does <@U0BOB> have left?" would read "how much leave does
    have left?" and be answered with the asker's own balance, as if it were Bob's."""
    return " ".join(MENTION.sub(lambda m: " " if m.group(1) in addressing else m.group(0), text or "").split())


def answer_in_thread(services: BotServices, client: WebClient, *, channel: str, thread_ts: str, user: str,
                     question: str, surface: str, current_ts: str | None,
                     set_status: Callable[[str], object] | None = None, context=None) -> None:
    """The DM and assistant-thread flow: show progress, answer with the thread as context, replace progress."""
    placeholder_ts = None
    status_shown = False
    if set_status is not None:
        try:
            set_status("is looking that up...")
            status_shown = True
        except SlackApiError:
            status_shown = False  # not an assistant thread: fall back to a placeholder message
    stream = open_stream(services, client, context, channel, thread_ts, user)  # None: the old way
    if stream is None and not status_shown:
        placeholder_ts = services.progress_message(client, context, channel, thread_ts)
    with stream or nullcontext():
        history = services.thread_history(client, channel, thread_ts if thread_ts != current_ts else None,
                                          current_ts)
        asked = services.ask(client, user, question, surface, history=history, stream=stream)
    if stream is not None:
        stream.finish(asked.answer, asked.question_id, escalation=asked.answer.kind != "refused")
        return
    blocks = answer_blocks(asked.answer, asked.question_id,
                           escalation=asked.answer.kind != "refused")
    text = fallback_text(asked.answer)
    if placeholder_ts:
        client.chat_update(channel=channel, ts=placeholder_ts, text=text, blocks=blocks)
    else:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
