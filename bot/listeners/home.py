"""App Home: the asker's leave this year, example questions, and knowledge base status for admins."""
from __future__ import annotations

from datetime import date

from slack_bolt import App
from slack_sdk import WebClient

from bot.render import home_view
from bot.services import BotServices
from knowledge import admin
from knowledge.chain import NO_RECORD
from knowledge.personal import personal_facts
from knowledge.store import KB_COUNTS


def register(app: App, services: BotServices) -> None:
    @app.event("app_home_opened")
    def home(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        asker = services.asker(client, user)
        employee_id = services.runtime.records.resolve(asker.slack_user_id, asker.email_lookup)
        facts = []
        records = services.runtime.records.load(employee_id) if employee_id else None
        if records is not None:
            admin.record(services.runtime.db, user, "read_records", employee_id, surface="app_home")
            facts = [d.page_content for d in personal_facts(records, date.today())
                     if d.metadata.get("kind") in ("balance", "volunteering", "leave")]
        admin_status = None
        if services.admins.is_admin(user):
            with services.runtime.db.connection() as conn:
                documents, chunks, last = conn.execute(KB_COUNTS).fetchone()
            admin_status = {"documents": documents, "chunks": chunks, "last_upload": last}
        client.views_publish(user_id=user, view=home_view(facts, None if facts else NO_RECORD, admin_status))
