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



def register(app: App, services: BotServices) -> None:
    desk = services.desk

    def choose(body: dict, client: WebClient, respond: Respond, on: bool) -> None:
        user = body["user"]["id"]
        shown_to = (body.get("actions") or [{}])[0].get("value")
        home = (body.get("view") or {}).get("type") == "home"

        def tell(key: str) -> None:  # a click in App Home has no response_url: the Home itself shows the state
            if body.get("response_url"):  # in the clicking person's Slack locale's language, looked up only now
                words = services.words(client, user)
                respond(response_type="ephemeral", replace_original=False,
                        text=desk.kind(words.templates[key], words.code))

        if shown_to != user:
            log.warning("SECURITY: %s clicked a reminders button shown to %r: refused", user, shown_to)
            tell("reminders_not_yours")
            return
        reminders = desk.reminders
        if on and not reminders.offered:
            tell("reminders_not_offered")
            return
        clicked = (body.get("actions") or [{}])[0].get("action_ts")  # a replayed older click changes nothing
        if reminders.choose(services.asker(client, user), on, clicked) is None:
            tell("reminders_no_record")
            return
        tell("reminders_turned_on" if on else "reminders_turned_off")
        if home:
            client.views_publish(user_id=user, view=with_reminders_line(body["view"], on, user,
                                                                         services.words(client, user)))

    @app.action(REMIND_ME)
    def remind_me(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        choose(body, client, respond, True)

    @app.action(STOP_REMINDERS)
    def stop_reminders(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        choose(body, client, respond, False)


def publish_home(client: WebClient, services: BotServices, user: str, admin_status=None) -> None:
    """The App Home with the reminders line when the company offers them, in the company's language the
    person's Slack locale asks for."""
    asker = services.asker(client, user)
    desk = services.desk
    language = services.language(client, user)  # one users.info at most (cached; a failure is the first language)
    words = services.words(client, user, language)
    view = home_view(desk.home(asker, language=language), desk.examples, admin_status, words)
    if desk.reminders.offered:
        view["blocks"][1:1] = reminders_home_blocks(desk.reminders.is_on(asker), user, words)
    client.views_publish(user_id=user, view=view)


def with_reminders_line(view: dict, on: bool, user: str, words=None) -> dict:
    """The Home as it was shown (the admins' part included), its reminders line showing the new state."""
    blocks = []
    for block in view.get("blocks", []):
        if (block.get("accessory") or {}).get("action_id") in (REMIND_ME, STOP_REMINDERS):
            blocks += reminders_home_blocks(on, user, words)
        else:
            blocks.append(block)
    return {"type": "home", "blocks": blocks}
