"""App Home: the asker's leave this year, example questions, and knowledge base status for admins."""
from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners.reminders import publish_home
from bot.services import BotServices
from knowledge.desks.admins import AdminDesk


def register(app: App, services: BotServices, admins: AdminDesk) -> None:
    @app.event("app_home_opened")
    def home(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        status = admins.knowledge_base_status() if admins.is_admin(user) else None
        publish_home(client, services, user, status)
