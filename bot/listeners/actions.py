"""Buttons on answers: helpful / not helpful (with a short form) and Talk to HR."""
from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import (ESCALATE, FEEDBACK_DOWN, FEEDBACK_MODAL, FEEDBACK_UP, feedback_modal, handoff_blocks, mention,
                        plain)
from knowledge.answering.conversations import LoggedQuestion
from knowledge.desks.employees import EmployeeDesk

log = logging.getLogger(__name__)
THANKS = "Thanks for the feedback!"
NOT_YOURS = "Only the person who asked can send this question to HR."
NOT_YOURS_TO_RATE = "Only the person who asked can rate this answer."
SENT = "I've sent your question to HR; someone will get back to you. (You can also reach {hr_contact}.)"
NO_CHANNEL = "There is no HR hand-off channel set up yet. Please contact {hr_contact} directly."
NOT_SENT = ("Sorry, I couldn't reach HR just now, so nothing was sent. Please try again in a moment, or contact "
            "{hr_contact}.")


def _question_id(body: dict) -> int | None:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError):
        return None


def _post_to_hr(client: WebClient, channel: str, logged: LoggedQuestion) -> None:
    user, question = logged.slack_user_id, logged.question
    client.chat_postMessage(channel=channel, text=f"{mention(user)} asked the HR assistant: {plain(question)}",
                            blocks=handoff_blocks(user, question, logged.question_id, logged.surface))


def register(app: App, desk: EmployeeDesk) -> None:
    def may_rate(question_id: int | None, user: str) -> bool:
        """Only the person who asked rates an answer (an answer in a channel is seen by others too)."""
        logged = desk.logged_question(question_id) if question_id is not None else None
        return logged is not None and logged.slack_user_id == user

    @app.action(FEEDBACK_UP)
    def helpful(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        question_id, user = _question_id(body), body["user"]["id"]
        if not may_rate(question_id, user):
            respond(response_type="ephemeral", replace_original=False, text=NOT_YOURS_TO_RATE)
            return
        desk.feedback(question_id, user, True)
        respond(response_type="ephemeral", replace_original=False, text=THANKS)

    @app.action(FEEDBACK_DOWN)
    def not_helpful(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        question_id, user = _question_id(body), body["user"]["id"]
        if not may_rate(question_id, user):
            respond(response_type="ephemeral", replace_original=False, text=NOT_YOURS_TO_RATE)
            return
        desk.feedback(question_id, user, False)
        client.views_open(trigger_id=body["trigger_id"], view=feedback_modal(question_id))

    @app.view(FEEDBACK_MODAL)
    def feedback_comment(ack: Ack, body: dict, view: dict) -> None:
        ack()
        comment = (view["state"]["values"].get("comment", {}).get("text", {}).get("value") or "").strip()
        try:
            question_id = int(view["private_metadata"])
        except (KeyError, ValueError):
            return
        if comment and may_rate(question_id, body["user"]["id"]):
            desk.feedback(question_id, body["user"]["id"], False, comment)

    @app.action(ESCALATE)
    def escalate(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        question_id = _question_id(body)
        user = body["user"]["id"]
        logged = desk.logged_question(question_id) if question_id is not None else None
        if logged is None or logged.slack_user_id != user:
            respond(response_type="ephemeral", replace_original=False, text=NOT_YOURS)
            return
        channel = desk.settings.escalation_channel
        if not channel:
            respond(response_type="ephemeral", replace_original=False, text=desk.kind(NO_CHANNEL))
            return
        try:
            desk.escalate(question_id, user, channel, send=lambda: _post_to_hr(client, channel, logged))
        except SlackApiError as exc:  # the hand-off was rolled back: the next click tries again
            log.error("could not post to the HR channel %s: %s", channel, exc.response.get("error"))
            respond(response_type="ephemeral", replace_original=False, text=desk.kind(NOT_SENT))
            return
        respond(response_type="ephemeral", replace_original=False, text=desk.kind(SENT))
