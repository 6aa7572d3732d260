"""Admins' uploads from Slack: the ingestion job (download with the bot token, ingest or import, report)."""
from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import PurePath

import procrastinate
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import BotServices
from knowledge.errors import DatabaseUnavailable, HRBotError
from knowledge.jobs import INGEST_QUEUE
from knowledge.records import import_csv

log = logging.getLogger(__name__)
AUDIENCES = [("Everyone", "all"), ("UK only", "GB"), ("Germany only", "DE")]


def download(client: WebClient, url: str, limit: int) -> bytes:
    """Slack file URLs need the bot token; read at most limit + 1 bytes so an oversized file is refused."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read(limit + 1)


def summary_blocks(name: str, result) -> list[dict]:
    if result.status in ("added", "replaced"):
        pages = f"{result.pages} pages, " if result.pages else ""
        verb = "Added" if result.status == "added" else f"Replaced with version {result.version}:"
        text = f":white_check_mark: {verb} *{result.title}* (`{name}`): {pages}{result.chunks} passages."
        return [{"type": "section", "text": {"type": "mrkdwn", "text": text},
                 "accessory": {"type": "static_select", "action_id": "hr_doc_audience",
                               "placeholder": {"type": "plain_text", "text": "Who is it for?"},
                               "options": [{"text": {"type": "plain_text", "text": label},
                                            "value": f"{result.document_id}:{value}"}
                                           for label, value in AUDIENCES]}}]
    if result.status == "unchanged":
        text = f":information_source: `{name}` is already up to date; nothing changed."
    else:
        text = f":x: `{name}` was not added: {result.reason}"
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def register_tasks(job_app: procrastinate.App, services: BotServices, client: WebClient):
    @job_app.task(name="hrbot.ingest_slack_file", queue=INGEST_QUEUE, pass_context=False)
    def ingest_slack_file(file_id: str, user: str, channel: str, thread_ts: str) -> None:
        def say(text: str, blocks: list[dict] | None = None) -> None:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)

        if not services.admins.is_admin(user):  # checked again: the job runs later, rights may have changed
            say("Only HR admins can add documents, so I didn't store this file.")
            return
        try:
            info = client.files_info(file=file_id)["file"]
        except SlackApiError as exc:
            log.warning("files.info %s failed: %s", file_id, exc.response.get("error"))
            say("I couldn't open that file in Slack. Please share it again.")
            return
        name = PurePath(info.get("name") or file_id).name
        limit = services.settings.max_upload_bytes
        if (info.get("size") or 0) > limit:
            say(f":x: `{name}` was not added: the file is {info['size'] / 1048576:.1f} MB; the limit is "
                f"{limit / 1048576:.0f} MB. Split it into smaller documents.")
            return
        try:
            data = download(client, info["url_private_download"], limit)
        except (urllib.error.URLError, OSError, KeyError) as exc:
            log.warning("download of %s failed: %s", file_id, exc)
            say(f"I couldn't download `{name}` from Slack. Please share it again.")
            return
        if name.lower().endswith(".csv"):
            try:
                result = import_csv(services.runtime.db, data, actor=user, name=name)
            except HRBotError as exc:
                say(f":x: `{name}`: {exc}")
                return
            say(f":white_check_mark: Imported `{name}`: {result.rows} {result.kind} rows, {result.changed} changed.")
            return
        try:
            result = services.runtime.ingestor.ingest_bytes(name, data, uploaded_by=user, url=info.get("permalink"))
        except DatabaseUnavailable:
            raise  # the job is retried when the database is back
        except HRBotError as exc:
            say(f":x: `{name}` was not added: {exc}")
            return
        say(f"{name}: {result.status}", summary_blocks(name, result))

    return ingest_slack_file
