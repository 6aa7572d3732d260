"""HR admins in Slack: file uploads in DMs, /hr-admin (docs, remove, gaps, stats), audience and removal buttons."""
from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Callable

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.delivery import is_from_a_person
from bot.render import DOC_AUDIENCE, DOC_REMOVE, documents_blocks, plain, section
from knowledge.desks.admins import AdminDesk
from knowledge.desks.privacy import PrivacyDesk
from knowledge.desks.sources import SourcesDesk
from knowledge.errors import HRBotError, NotFound

NOT_ADMIN = "Sorry, only HR admins can do that. If you should be one, ask HR to add you."
REPLACED = ("That document has been replaced or removed since this summary, so I didn't change anything. "
            "Use the menu on the newer summary, or see `/hr-admin docs` for what is current.")
USAGE = ("*HR admin commands*\n"
         "- Share files (PDF, DOCX, Markdown, HTML, text) in a direct message with me to add or replace them "
         "(write `effective 2027-04-01` beside them for a version in force from that day); CSV exports of "
         "employees, entitlements, leave or public holidays are imported as records.\n"
         "- `/hr-admin docs`: what I know, with Remove buttons\n"
         "- `/hr-admin remove FILE-NAME`: remove a document now\n"
         "- `/hr-admin gaps`: questions from the last 30 days I couldn't answer or that were not helpful\n"
         "- `/hr-admin stats`: questions per day, share answered, helpful rate, top sources\n"
         "- `/hr-admin records`: balances where the HR system and my computation disagree by more than half a day\n"
         "- `/hr-admin sources`: scheduled sources (documents and records): last run, what changed, errors, stale ones\n"
         "- `/hr-admin sources run NAME`: run one now and say what changed\n"
         "- `/hr-admin bindings [EMPLOYEE-ID|@user|email]`: which Slack account each employee is bound to\n"
         "- `/hr-admin unbind EMPLOYEE-ID`: reset a wrong binding (their next message binds again by email)")


def sources_text(sources) -> str:
    """Each scheduled source's status for /hr-admin sources (the same facts as `hrbot sources list`). Names,
    changes and errors echo what the source served (page addresses, skipped items), so each is escaped."""
    from datetime import datetime, timezone

    if not sources:
        return "No scheduled sources yet. Add one with `hrbot sources add` (see the README, Sources)."
    now = datetime.now(timezone.utc)
    lines = ["*Scheduled sources*"]
    for s in sources:
        when = s.last_success_at.strftime("%d %b %H:%M UTC") if s.last_success_at else "never"
        flag = " :warning: *stale*" if s.stale(now) else ""
        lines.append(f"- *{plain(s.name)}* ({plain(s.kind)}, every {s.every_seconds // 60} min){flag}: last success "
                     f"{when} ({changes_text(s.last_changes)})"
                     + (f"; last error ({s.failures} in a row): {plain(s.last_error)}" if s.last_error else ""))
    return "\n".join(lines)


def changes_text(changes: dict | None) -> str:
    """What a run changed ("added 2, skipped 1, skipped because ..."), escaped: the reasons name items."""
    return plain(", ".join(f"{k} {v}" for k, v in (changes or {}).items() if v)) or "nothing changed"


def _run_source(sources: SourcesDesk, name: str, user: str) -> str:
    """`/hr-admin sources run NAME`: the run, now, in this admin's name; what changed or why it failed."""
    if not name:
        return "Which source? `/hr-admin sources run NAME` (`/hr-admin sources` lists them)."
    try:
        [result] = sources.run([name], actor=user)
    except NotFound as exc:
        return plain(exc)
    if result.status == "busy":
        return (f"*{plain(name)}* is running already (another replica or its schedule); try `/hr-admin sources` "
                "shortly.")
    if result.status == "failed":
        return f":warning: *{plain(name)}* failed ({result.failures} in a row): {plain(result.error)}"
    return f"*{plain(name)}* ran: {changes_text(result.changes)}."


SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _user(slack_user_id: str) -> str:
    """A user mention only for a well-formed Slack id; anything else (records are data) shown inert."""
    return f"<@{slack_user_id}>" if SLACK_ID.match(slack_user_id or "") else f"`{plain(slack_user_id)}`"


MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
EMAIL_LINK = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")


def _bindings(privacy: PrivacyDesk, verb: str, argument: str, user: str) -> str:
    """`/hr-admin bindings [who]` and `/hr-admin unbind EMPLOYEE-ID`: see and reset Slack bindings."""
    who = argument
    for pattern in (MENTION, EMAIL_LINK):  # Slack sends "@user" as <@U123|name> and emails as <mailto:...>
        found = pattern.match(argument)
        if found:
            who = found.group(1)
    try:
        if verb == "unbind":
            if not who:
                return "Whose binding? `/hr-admin unbind EMPLOYEE-ID` (`/hr-admin bindings` lists them)."
            previous = privacy.unbind(who, user)
            return (f"`{plain(who)}` is no longer bound to {_user(previous)}; their next message binds again by email."
                    if previous else f"`{plain(who)}` was not bound to a Slack account.")
        rows = privacy.bindings(who or None, user)
    except HRBotError as exc:
        return plain(str(exc))
    if not rows:
        return "No employee matches." if who else "No employee records yet."
    lines = ["*Slack bindings*"] + [f"- `{plain(e)}` {plain(name)} ({plain(email)}): "
                                    + (_user(slack) if slack else "_not bound_") for e, name, email, slack in rows[:40]]
    if len(rows) > 40:
        lines.append(f"...and {len(rows) - 40} more: `hrbot records bindings` lists all.")
    return "\n".join(lines)


def register(app: App, admins: AdminDesk, sources: SourcesDesk, privacy: PrivacyDesk) -> None:
    from bot.uploads import SlackFileEdits

    edits = SlackFileEdits(admins)

    @app.event("file_change")
    def file_change(event: dict, client: WebClient) -> None:
        """A shared file edited in Slack: the document it became is read again (Bolt has acknowledged already)."""
        edits.changed(client, event.get("file_id") or (event.get("file") or {}).get("id") or "")

    @app.event("file_deleted")
    def file_deleted(event: dict) -> None:
        edits.deleted(event.get("file_id") or "")

    @app.command("/hr-admin")
    def hr_admin(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        user = command["user_id"]
        if not admins.is_admin(user):
            ack(response_type="ephemeral", text=NOT_ADMIN)
            return
        words = (command.get("text") or "").split(maxsplit=1)
        verb = words[0].lower() if words else "help"
        ack(response_type="ephemeral", text="One moment..."
            if verb in ("docs", "gaps", "stats", "remove", "records", "sources", "bindings", "unbind") else USAGE)
        if verb == "docs":
            documents = admins.documents()
            respond(response_type="ephemeral", replace_original=True, text=f"{len(documents)} documents",
                    blocks=documents_blocks(documents))
        elif verb == "remove":
            source = words[1].strip() if len(words) > 1 else ""
            respond(response_type="ephemeral", replace_original=True, text=_remove(admins, source, user))
        elif verb == "gaps":
            respond(response_type="ephemeral", replace_original=True, text="Gaps",
                    blocks=[section(gaps_text(admins.gaps()))])
        elif verb == "stats":
            respond(response_type="ephemeral", replace_original=True, text="Stats",
                    blocks=[section(stats_text(admins.stats()))])
        elif verb == "records":
            respond(response_type="ephemeral", replace_original=True, text="Balance check",
                    blocks=[section(records_text(admins.balance_check(user)))])
        elif verb == "sources" and len(words) > 1 and words[1].split()[0].lower() == "run":
            name = words[1].split()[1] if len(words[1].split()) > 1 else ""
            respond(response_type="ephemeral", replace_original=True, text=_run_source(sources, name, user))
        elif verb == "sources":
            respond(response_type="ephemeral", replace_original=True, text="Sources",
                    blocks=[section(sources_text(sources.list()))])
        elif verb in ("bindings", "unbind"):
            argument = words[1].strip() if len(words) > 1 else ""
            respond(response_type="ephemeral", replace_original=True, text=_bindings(privacy, verb, argument, user))

    def admin_clicked(body: dict, respond: Respond) -> str | None:
        """The clicking user's id if they are an admin now (buttons outlive rights); else tell them why not."""
        user = body["user"]["id"]
        if admins.is_admin(user):
            return user
        respond(response_type="ephemeral", replace_original=False, text=NOT_ADMIN)
        return None

    @app.action(DOC_REMOVE)
    def remove_button(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        user = admin_clicked(body, respond)
        if user:
            respond(response_type="ephemeral", replace_original=False,
                    text=_remove(admins, body["actions"][0]["value"], user))

    @app.action(DOC_AUDIENCE)
    def audience(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        user = admin_clicked(body, respond)
        if not user:
            return
        document_id, value = body["actions"][0]["selected_option"]["value"].split(":", 1)
        if not admins.set_audience(int(document_id), value, user):
            respond(response_type="ephemeral", replace_original=False, text=REPLACED)
            return
        respond(response_type="ephemeral", replace_original=False,
                text=f"Done: that document is now for {plain(admins.audience_label(value))}.")


@dataclass(frozen=True)
class FileShares:
    """Files shared in a DM or the assistant panel: an admin's are queued for the upload job (bot/jobs.py), anyone
    else is told nothing was stored. The employees' listeners call it (bot.listeners.delivery.SharedFiles)."""
    admins: AdminDesk
    defer_upload: Callable[..., object]  # (file_id, user, channel, thread_ts): queue an admin's file for ingestion
    bot_user_id: str | None = None

    def __call__(self, event: dict, client: WebClient) -> bool:
        """True when the event was an upload (handled here, whatever the outcome)."""
        files = event.get("files") or []
        if not files or not is_from_a_person(event, self.bot_user_id):
            return False
        user, channel = event["user"], event["channel"]
        thread_ts = event.get("thread_ts") or event["ts"]
        if not self.admins.is_admin(user):
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=(
                "Thanks, but only HR admins can add documents, so I didn't store anything. If you have a "
                "question, just ask it in words."))
            return True
        try:  # "effective 2027-04-01" beside the files: each is the version in force from that day
            effective = self.admins.effective_date(event.get("text"))
        except HRBotError as exc:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                    text=f":x: I didn't add anything: {plain(str(exc))}")
            return True
        dated = {"effective": effective.isoformat()} if effective else {}
        for f in files:
            self.defer_upload(file_id=f["id"], user=user, channel=channel, thread_ts=thread_ts, **dated)
        names = ", ".join(f"`{plain(f.get('name', f['id']))}`" for f in files)
        when = f" as the version in force from {effective.isoformat()}" if effective else ""
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=(
            f"Got it: adding {names}{when}. I'll post a summary here when {'it is' if len(files) == 1 else 'they are'} "
            "ready."))
        return True


def _remove(admins: AdminDesk, source: str, user: str) -> str:
    if not source:
        return "Tell me which document: `/hr-admin remove FILE-NAME` (see `/hr-admin docs`)."
    try:
        admins.remove(source, actor=user)
    except NotFound as exc:  # echoes the name asked for
        return plain(exc)
    return f"Removed `{plain(source)}`. Answers no longer cite it."


def gaps_text(groups: list[dict]) -> str:
    if not groups:
        return "No unanswered or unhelpful questions in the last 30 days."
    lines = ["*Questions I couldn't answer well (last 30 days), most frequent first*"]
    for group in groups[:15]:
        examples = "; ".join(f"“{plain(q)}”" for q in group["questions"][:3])
        lines.append(f"- *{group['count']}x* {examples}")
    return "\n".join(lines)


def records_text(lines: list[str]) -> str:
    if not lines:
        return "Every balance from the HR system matches mine within half a day."
    shown = "\n".join(f"- {plain(line)}" for line in lines[:25])
    more = f"\n...and {len(lines) - 25} more (`hrbot records check` lists them all)." if len(lines) > 25 else ""
    return (f"*{len(lines)} balance{'s' if len(lines) != 1 else ''} where the HR system and my computation "
            "disagree by more than half a day* "
            f"(employees are told the HR system's figure)\n{shown}{more}")


def stats_text(s: dict) -> str:
    days = "\n".join(f"- {d['day']:%a %d %b}: {d['questions']}" for d in s["per_day"][-14:]) or "- none yet"
    sources = "\n".join(f"- {plain(x['source'])}: {x['citations']}" for x in s["top_sources"]) or "- none yet"
    helpful = f"{s['helpful_rate']:.0%}" if s["helpful_rate"] is not None else "no feedback yet"
    answered = f"{s['answered_share']:.0%}" if s["answered_share"] is not None else "n/a"
    return (f"*Last 30 days*: {s['questions']} questions, {answered} answered from the documents, "
            f"helpful rate {helpful} ({s['feedback']} ratings)\n*Questions per day*\n{days}\n*Top sources*\n"
            f"{sources}")
