"""The /hr slash command: an answer only the asker sees."""
from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.render import answer_blocks, fallback_text, help_blocks, plain
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    @app.command("/hr")
    def hr(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        question = " ".join((command.get("text") or "").split())
        if question.lower() in ("", "help", "?"):
            ack(response_type="ephemeral", text="Here is what I can do", blocks=help_blocks(services.desk.examples))
            return
        ack(response_type="ephemeral", text=f"Looking up: {plain(question)}")
        asked = services.ask(client, command["user_id"], question, "command")
        respond(response_type="ephemeral", replace_original=True, text=fallback_text(asked.answer),
                blocks=answer_blocks(asked.answer, asked.question_id, escalation=asked.answer.kind != "refused"))
