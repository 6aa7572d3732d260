"""App Home: the asker's leave this year, example questions, and knowledge base status for admins."""
from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.render import home_view
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    @app.event("app_home_opened")
    def home(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        summary = services.assistant.home(services.asker(client, user))
        client.views_publish(user_id=user, view=home_view(summary, services.assistant.profile.examples))
