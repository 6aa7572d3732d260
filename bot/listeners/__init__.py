"""Listeners grouped by kind; each module has register(app, services)."""
from slack_bolt import App

from bot.listeners import actions, admin, assistant, commands, home, messages
from bot.services import BotServices


def register_listeners(app: App, services: BotServices) -> None:
    assistant.register(app, services)   # first: it claims messages in assistant threads
    messages.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    home.register(app, services)
    admin.register(app, services)
