"""Direct messages and @mentions."""
from __future__ import annotations


from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners.delivery import SharedFiles, MENTION, answer_in_thread, clean_question, is_from_a_person
from bot.render import answer_blocks, fallback_text, help_blocks
from bot.services import BotServices

PRIVATE_NOTE = "_The part about your own records was sent only to you._"


def register(app: App, services: BotServices, shared_files: SharedFiles) -> None:
    @app.event("message")
    def direct_message(event: dict, client: WebClient, context) -> None:
        if event.get("channel_type") != "im" or not is_from_a_person(event, services.bot_user_id):
            return
        if shared_files(event, client):
            return
        question = clean_question(event.get("text", ""), {services.bot_user_id, event["user"]})
        if not question:
            return
        if question.lower() in ("help", "hi", "hello", "?"):
            client.chat_postMessage(channel=event["channel"], text="Here is what I can do",
                                    blocks=help_blocks(services.desk.examples))
            return
        answer_in_thread(services, client, channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"],
                         user=event["user"], question=question, surface="dm", current_ts=event["ts"],
                         context=context)

    @app.event("app_mention")
    def mention(event: dict, client: WebClient, context) -> None:
        if not is_from_a_person(event, services.bot_user_id):
            return
        channel, user = event["channel"], event["user"]
        question = clean_question(event.get("text", ""), {_bot_id(services, context, event), user})
        thread_ts = event.get("thread_ts") or event["ts"]
        if not question:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text="Here is what I can do",
                                      blocks=help_blocks(services.desk.examples))
            return
        placeholder = services.progress_message(client, context, channel, thread_ts)
        history = services.thread_history(client, channel, event.get("thread_ts"), event["ts"])
        full = services.ask(client, user, question, "mention", history=history, for_channel=True)
        if full.public is None or not full.answer.personal:
            shown = full.public or full.answer  # without a notice about the asker
            client.chat_update(channel=channel, ts=placeholder, text=fallback_text(shown),
                               blocks=answer_blocks(shown, full.question_id, escalation=shown.kind != "refused"))
            if full.answer.notice:  # about the asker alone ("no HR record is linked"): to them, once, not the answer
                client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=full.answer.notice)
            return
        # Personal data never goes where others can read it: the channel gets the policy-only answer,
        # the asker alone gets the full one.
        client.chat_update(channel=channel, ts=placeholder, text=fallback_text(full.public),
                           blocks=answer_blocks(full.public, full.question_id, escalation=False,
                                                note=PRIVATE_NOTE if full.answer.personal else None))
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=fallback_text(full.answer),
                                  blocks=answer_blocks(full.answer, full.question_id))


def _bot_id(services: BotServices, context, event: dict) -> str | None:
    """This bot's user id, whose mention addresses it. Unknown only without token verification (development):
    then the event's first mention, which Slack sends app_mention for, is taken for it."""
    known = services.bot_user_id or (context.get("bot_user_id") if context is not None else None)
    if known:
        return known
    first = MENTION.search(event.get("text") or "")
    return first.group(1) if first else None
