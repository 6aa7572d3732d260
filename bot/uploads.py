"""Admins' files shared in Slack, processed by a background job: download with the bot token, add through the
admins' desk (documents ingested, CSV exports imported as records), and report back in the thread."""
from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from pathlib import PurePath

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import plain, upload_summary_blocks
from knowledge.desks.admins import AdminDesk
from knowledge.documents.versions import parse_effective
from knowledge.errors import DatabaseUnavailable, HRBotError
from knowledge.sources.transport import OPENER

log = logging.getLogger(__name__)


def download(client: WebClient, url: str, limit: int) -> bytes:
    """Slack file URLs need the bot token; read at most limit + 1 bytes so an oversized file is refused. The
    token goes to the file's origin only: a redirect elsewhere is followed without it (CredentialsStayHome)."""
    from knowledge.sources.transport import CONNECT_SECONDS, TOTAL_SECONDS, read_within

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    with OPENER.open(request, timeout=CONNECT_SECONDS) as response:  # and a limit for the whole file
        # too slow, or larger than files.info said: an HRBotError, answered "share it again"
        return read_within(response, url.split("?", 1)[0], limit, time.monotonic() + TOTAL_SECONDS, TOTAL_SECONDS)


LARGE = 300               # passages; a document this big gets a message saying how long it will take
CHUNKS_PER_SECOND = 4     # stored on 2 cores, each passage's sentences embedded too, by both models: a 346-passage
                          # two-column PDF took 146 s at load 4 (outside review, 2026-12-03); 30 was before the
                          # sentence store and is what made the estimate 10x too short
UPDATE_EVERY = 10.0       # seconds between progress updates in the thread


class SlackProgress:
    """Progress of one big document in its upload thread: its size and an estimate before the work starts,
    then the share done, edited into the same message at most every few seconds."""

    def __init__(self, client: WebClient, channel: str, thread_ts: str, name: str):
        self.client, self.channel, self.thread_ts, self.name = client, channel, thread_ts, name
        self.ts: str | None = None
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        try:
            if self.ts is None:
                if total < LARGE:
                    return
                minutes = max(1, round(total / CHUNKS_PER_SECOND / 60))
                self.ts = self.client.chat_postMessage(
                    channel=self.channel, thread_ts=self.thread_ts,
                    text=f":hourglass_flowing_sand: `{plain(self.name)}` is large: {total:,} passages, about "
                         f"{minutes} minute{'s' if minutes != 1 else ''}. I'll update this message as I go.")["ts"]
                self.last = time.monotonic()
                return
            if time.monotonic() - self.last < UPDATE_EVERY and done < total:
                return
            self.last = time.monotonic()
            self.client.chat_update(channel=self.channel, ts=self.ts,
                                    text=f":hourglass_flowing_sand: `{plain(self.name)}`: {done:,} of {total:,} "
                                         f"passages embedded ({done / total:.0%}).")
        except SlackApiError as exc:  # progress is a courtesy: never fail the upload over it
            log.info("could not show progress for %s: %s", self.name, exc.response.get("error"))


class SlackUploads:
    """The work behind one shared file; the job queue calls ingest() with the ids it was deferred with."""

    def __init__(self, admins: AdminDesk, client: WebClient):
        self.admins = admins
        self.client = client

    def ingest(self, file_id: str, user: str, channel: str, thread_ts: str, effective: str | None = None) -> None:
        """effective: the day (YYYY-MM-DD) the file's version takes effect, as the admin wrote it beside the file."""
        def say(text: str, blocks: list[dict] | None = None) -> None:
            self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)

        if not self.admins.is_admin(user):  # checked again: the job runs later, rights may have changed
            say("Only HR admins can add documents, so I didn't store this file.")
            return
        try:
            info = self.client.files_info(file=file_id)["file"]
        except SlackApiError as exc:
            log.warning("files.info %s failed: %s", file_id, exc.response.get("error"))
            say("I couldn't open that file in Slack. Please share it again.")
            return
        name = PurePath(info.get("name") or file_id).name
        limit = self.admins.settings.max_upload_bytes
        if (info.get("size") or 0) > limit:
            say(f":x: `{plain(name)}` was not added: the file is {info['size'] / 1048576:.1f} MB; the limit is "
                f"{limit / 1048576:.0f} MB. Split it into smaller documents.")
            return
        try:
            data = download(self.client, info["url_private_download"], limit)
        except (urllib.error.URLError, OSError, KeyError, HRBotError) as exc:  # HRBotError: a refused redirect
            log.warning("download of %s failed: %s", file_id, exc)
            say(f"I couldn't download `{plain(name)}` from Slack. Please share it again.")
            return
        try:
            added = self.admins.add_file(name, data, actor=user, url=info.get("permalink"),
                                         progress=SlackProgress(self.client, channel, thread_ts, name),
                                         effective=parse_effective(effective))
        except DatabaseUnavailable:
            raise  # the job is retried when the database is back
        except HRBotError as exc:
            say(f":x: `{plain(name)}` was not added: {plain(str(exc))}")
            return
        except Exception:  # never leave the admin without a reply
            log.exception("adding %s failed", name)
            say(f":x: Something went wrong while adding `{plain(name)}`, so nothing was changed. Please try "
                "again; if it keeps failing, the bot's log has the details.")
            return
        if added.records is not None:
            result = added.records
            say(f":white_check_mark: Imported `{plain(name)}`: {result.rows} {plain(result.kind)} rows, "
                f"{result.changed} changed.")
        else:
            say(f"{plain(name)}: {added.ingest.status}", upload_summary_blocks(name, added.ingest,
                                                                             self.admins.audiences()))


class SlackFileEdits:
    """Files an admin shared in Slack and then edited (file_change) or deleted (file_deleted) there: the document
    each became follows, re-read or retired. A document is found by its address: it keeps the permalink of the
    Slack file its current version came from, which names the file's id; one replaced since by another file
    belongs to that file, and a document from a scheduled source is never touched."""

    def __init__(self, admins: AdminDesk):
        self.admins = admins

    def versions_of(self, file_id: str) -> list[dict]:
        """The live document versions the file became (a document's other versions came from other files)."""
        return [d for d in self.admins.documents()
                if names_file(d.get("url"), file_id) and not str(d.get("uploaded_by") or "").startswith("source:")]

    def documents_of(self, file_id: str) -> list[str]:
        return list(dict.fromkeys(d["source"] for d in self.versions_of(file_id)))

    def deleted(self, file_id: str) -> list[str]:
        """Retire the versions the file became; the document names retired."""
        retired = []
        for d in self.versions_of(file_id):
            source = d["source"]
            try:
                self.admins.remove(source, actor=f"slack:file_deleted:{file_id}", version=d["version"])
                retired.append(source)
            except HRBotError as exc:  # removed meanwhile (by an admin, or a second delivery of the event)
                log.info("file %s deleted in Slack: %s", file_id, exc)
        if retired:
            log.info("file %s deleted in Slack: retired %s", file_id, retired)
        return retired

    def changed(self, client: WebClient, file_id: str) -> list[str]:
        """Read the file again and replace what it became (unchanged content changes nothing); the names added
        again. Only while its owner is an HR admin: rights may have changed since it was shared."""
        versions = self.versions_of(file_id)
        if not versions:
            return []
        try:
            info = client.files_info(file=file_id)["file"]
        except SlackApiError as exc:
            log.warning("file %s changed in Slack but files.info failed: %s", file_id, exc.response.get("error"))
            return []
        if not self.admins.is_admin(info.get("user")):
            log.warning("file %s changed in Slack by its owner %s, who is not an HR admin: not re-read", file_id,
                        info.get("user"))
            return []
        limit = self.admins.settings.max_upload_bytes
        if (info.get("size") or 0) > limit:
            log.warning("file %s changed in Slack and is now larger than the upload limit: kept as it was", file_id)
            return []
        try:
            data = download(client, info["url_private_download"], limit)
        except (urllib.error.URLError, OSError, KeyError, HRBotError) as exc:
            log.warning("file %s changed in Slack but could not be downloaded (kept as it was): %s", file_id, exc)
            return []
        for d in versions:  # each version keeps its date: an edit corrects that version
            self.admins.add_file(d["source"], data, actor=info["user"], url=info.get("permalink"),
                                 effective=d.get("effective_from"))
        return list(dict.fromkeys(d["source"] for d in versions))


def names_file(url: str | None, file_id: str) -> bool:
    """A Slack permalink (https://team.slack.com/files/U123/F456/name.pdf) names the file's id as a path segment."""
    if not url or not file_id:
        return False
    from urllib.parse import urlsplit

    return file_id in urlsplit(url).path.split("/")
