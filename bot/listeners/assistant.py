"""The assistant panel (Bolt's Assistant): greeting, suggested prompts, status while working, thread titles."""
from __future__ import annotations

import logging

from slack_bolt import App, Assistant, Say, SetStatus, SetSuggestedPrompts, SetTitle
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.delivery import SharedFiles, answer_in_thread, clean_question
from bot.services import BotServices

log = logging.getLogger(__name__)
GREETING = ("Hi! I answer HR questions from our policies and your own records: leave, sick pay, parental "
            "leave, benefits, expenses, remote work. What would you like to know?")


def register(app: App, services: BotServices, shared_files: SharedFiles) -> None:
    assistant = Assistant()

    @assistant.thread_started
    def start(say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
        say(GREETING)
        set_suggested_prompts(prompts=[{"title": e, "message": e}
                                       for e in services.desk.examples[:4]])

    @assistant.user_message
    def user_message(payload: dict, client: WebClient, set_status: SetStatus, set_title: SetTitle, context) -> None:
        # The Assistant middleware claims every DM message in a thread, files shared there included.
        if shared_files(payload, client):
            return
        if payload.get("subtype") or payload.get("bot_id"):
            return
        question = clean_question(payload.get("text", ""), {services.bot_user_id, payload.get("user")})
        if not question:
            return
        thread_ts = payload.get("thread_ts") or payload["ts"]
        if not services.thread_history(client, payload["channel"], thread_ts, payload["ts"]):
            try:
                set_title(question[:80])
            except SlackApiError as exc:
                log.info("could not set the thread title: %s", exc.response.get("error"))
        answer_in_thread(services, client, channel=payload["channel"], thread_ts=thread_ts, user=payload["user"],
                         question=question, surface="assistant", current_ts=payload["ts"], set_status=set_status,
                         context=context)

    app.use(assistant)
