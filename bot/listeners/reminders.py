"""The "Remind me" and "Stop reminders" buttons (App Home, and each reminder DM).

Buttons are forgeable: the person acted for is the clicking user Slack signed the request for, never an id from
the button, and a click whose button was shown to someone else changes nothing."""
from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.render import REMIND_ME, STOP_REMINDERS, home_view, reminders_home_blocks
from bot.services import BotServices

log = logging.getLogger(__name__)
TURNED_ON = ("Reminders are on: I'll message you here a few weeks before carried-over days lapse or your leave "
             "year ends with days unused.")
TURNED_OFF = "Reminders are off. You can turn them on again from my Home tab."
NOT_OFFERED = "Reminders are not offered here yet; {hr_contact} can tell you more."
NO_RECORD = "I couldn't find your HR record, so I can't set reminders up; please contact {hr_contact}."
NOT_YOURS = "This button belongs to someone else, so nothing was changed."


def register(app: App, services: BotServices) -> None:
    desk = services.desk

    def choose(body: dict, client: WebClient, respond: Respond, on: bool) -> None:
        user = body["user"]["id"]
        shown_to = (body.get("actions") or [{}])[0].get("value")
        home = (body.get("view") or {}).get("type") == "home"

        def tell(text: str) -> None:  # a click in App Home has no response_url: the Home itself shows the state
            if body.get("response_url"):
                respond(response_type="ephemeral", replace_original=False, text=text)

        if shown_to != user:
            log.warning("SECURITY: %s clicked a reminders button shown to %r: refused", user, shown_to)
            tell(NOT_YOURS)
            return
        reminders = desk.reminders
        if on and not reminders.offered:
            tell(desk.kind(NOT_OFFERED))
            return
        clicked = (body.get("actions") or [{}])[0].get("action_ts")  # a replayed older click changes nothing
        if reminders.choose(services.asker(client, user), on, clicked) is None:
            tell(desk.kind(NO_RECORD))
            return
        tell(TURNED_ON if on else TURNED_OFF)
        if home:
            client.views_publish(user_id=user, view=with_reminders_line(body["view"], on, user))

    @app.action(REMIND_ME)
    def remind_me(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        choose(body, client, respond, True)

    @app.action(STOP_REMINDERS)
    def stop_reminders(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        choose(body, client, respond, False)


def publish_home(client: WebClient, services: BotServices, user: str, admin_status=None) -> None:
    """The App Home with the reminders line when the company offers them."""
    asker = services.asker(client, user)
    view = home_view(services.desk.home(asker), services.desk.examples, admin_status)
    if services.desk.reminders.offered:
        view["blocks"][1:1] = reminders_home_blocks(services.desk.reminders.is_on(asker), user)
    client.views_publish(user_id=user, view=view)


def with_reminders_line(view: dict, on: bool, user: str) -> dict:
    """The Home as it was shown (the admins' part included), its reminders line showing the new state."""
    blocks = []
    for block in view.get("blocks", []):
        if (block.get("accessory") or {}).get("action_id") in (REMIND_ME, STOP_REMINDERS):
            blocks += reminders_home_blocks(on, user)
        else:
            blocks.append(block)
    return {"type": "home", "blocks": blocks}
