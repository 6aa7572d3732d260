"""Listeners grouped by kind; each module has register(app, ...) with the desks its listeners use: the employees'
listeners get their Slack context (BotServices, around the employees' desk), the admin's the admins', sources'
and privacy desks."""
from typing import Callable

from slack_bolt import App

from bot.listeners import actions, admin, assistant, commands, home, messages, reminders
from bot.services import BotServices
from knowledge.desks.admins import AdminDesk
from knowledge.desks.privacy import PrivacyDesk
from knowledge.desks.sources import SourcesDesk


def register_listeners(app: App, services: BotServices, *, admins: AdminDesk, sources: SourcesDesk,
                       privacy: PrivacyDesk, defer_upload: Callable[..., object]) -> None:
    shared_files = admin.FileShares(admins, defer_upload, services.bot_user_id)
    assistant.register(app, services, shared_files)   # first: it claims messages in assistant threads
    messages.register(app, services, shared_files)
    commands.register(app, services)
    actions.register(app, services.desk)
    reminders.register(app, services)
    home.register(app, services, admins)
    admin.register(app, admins, sources, privacy)
