"""The registry of kinds. A kind says what a source of it cannot run without (settings, a client library) and
how it runs: a document kind lists and fetches, and mirror.py makes the knowledge base match; a records kind
pulls rows, and records.py writes them with the CSV import's checks. The runner, `hrbot sources add` and
`hrbot doctor` ask the kind instead of branching on its name.

The implementations live in a module each (folder.py, web.py, confluence.py, notion.py, records.py, merge.py,
personio.py) and import only what they share (items.py, transport.py, records.py's mapping helpers), never this
registry, so there is no circle between the registry and the kinds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from knowledge.errors import ConfigurationError
from knowledge.sources.folder import folder_listing
from knowledge.sources.items import Listing, Source
from knowledge.sources.hris_webhooks import bamboohr_webhook, merge_webhook
from knowledge.sources.merge import merge_pull
from knowledge.sources.personio import personio_pull
from knowledge.sources.records import bamboohr_pull
from knowledge.sources.sqlrecords import sql_pull
from knowledge.sources.web import web_listing

if TYPE_CHECKING:
    from knowledge.documents.ingest import Ingestor


@dataclass(frozen=True)
class Kind:
    name: str
    # What it cannot run without (each a tuple: one of them); checked when a source is added, so a typo is told
    # at once rather than at its first run. Credentials are not resolved then: the machine adding a source may
    # not hold them (`hrbot doctor` checks that where the runs happen).
    needs: tuple[tuple[str, ...], ...] = ()
    library: str | None = None  # the client library it imports when it runs (checked by `hrbot doctor`)
    # (source, on_change) -> a handler for POST /webhooks/<source name>, or None (notifications.py): a kind whose
    # service can say when something changed declares one, and the entry point mounts it for each such source.
    webhook: Callable | None = None

    def make_webhook(self, source: Source, on_change, state) -> Callable | None:
        """The handler for this source (see `webhook`); state: the source's kept state (SourceState), for a kind
        that checks a notification against what its runs subscribed to."""
        return self.webhook(source, on_change) if self.webhook is not None else None

    def unsubscribe(self, ingestor: "Ingestor", source: Source) -> str | None:
        """End what the source asked its service for (a subscription, a push channel) when it is removed; what
        happened, or None when it holds nothing."""
        return None
    records = False

    def check(self, settings: dict) -> None:
        missing = [" or ".join(keys) for keys in self.needs if not any(settings.get(key) for key in keys)]
        if missing:
            raise ConfigurationError(f"A {self.name} source needs {', '.join(missing)} (the README's Sources "
                                     "section lists every setting).")

    def run(self, ingestor: "Ingestor", source: Source, result, profile) -> None:
        """One run; result is the runner's RunResult, whose changes the run fills in. A HRBotError fails it."""
        raise NotImplementedError


@dataclass(frozen=True)
class DocumentKind(Kind):
    listing: Callable[[dict, int], Listing] = None  # (settings, max_bytes) -> what the source has now

    def run(self, ingestor, source, result, profile) -> None:
        from knowledge.sources.mirror import mirror

        mirror(ingestor, source, self.listing, result)


@dataclass(frozen=True)
class RecordsKind(Kind):
    pull: Callable = None  # (settings, profile, today, into) -> into: each table handed to into.table()
    records = True

    def run(self, ingestor, source, result, profile) -> None:
        from knowledge.sources.records import write_pull

        write_pull(ingestor.db, source, self.pull, result, profile)


# --- the API kinds import their client library only when such a source runs ----------------------------------

def confluence(settings: dict, max_bytes: int) -> Listing:
    from knowledge.sources.confluence import confluence_listing

    return confluence_listing(settings, max_bytes)


def confluence_webhook(source: Source, on_change):
    from knowledge.sources.confluence_notify import confluence_webhook as make

    return make(source, on_change)


def notion(settings: dict, max_bytes: int) -> Listing:
    from knowledge.sources.notion import notion_listing

    return notion_listing(settings, max_bytes)


@dataclass(frozen=True)
class GraphKind(Kind):
    """SharePoint and OneDrive through Microsoft Graph: a delta run (delta.py), then the notification subscription
    kept alive (graph_notify.py)."""

    def unsubscribe(self, ingestor, source) -> str | None:
        from knowledge.sources.graph_api import GraphClient
        from knowledge.sources.graph_notify import unsubscribe
        from knowledge.sources.state import SourceState

        return unsubscribe(lambda: GraphClient(source.settings, ingestor.max_bytes),
                           SourceState(ingestor.db, source.source_id))

    def make_webhook(self, source: Source, on_change, state) -> Callable | None:
        from knowledge.sources.graph_notify import make_graph_webhook

        return make_graph_webhook(source, on_change, state) if self.webhook is not None else None

    def run(self, ingestor, source, result, profile) -> None:
        from knowledge.sources.graph import run_graph
        from knowledge.sources.graph_notify import keep_subscribed, public_url_setting
        from knowledge.sources.state import SourceState

        client, drive = run_graph(ingestor, source, result, profile)
        state = SourceState(ingestor.db, source.source_id)
        notifications = keep_subscribed(client, source, state, drive, public_url_setting())
        if notifications:
            result.changes["notifications"] = notifications


def graph_webhook(source: Source, on_change):
    from knowledge.sources.graph_notify import make_graph_webhook

    return make_graph_webhook(source, on_change)


@dataclass(frozen=True)
class GDriveKind(Kind):
    """Google Drive: a changes run (gdrive.py), then the push channel kept alive (gdrive_notify.py)."""

    def unsubscribe(self, ingestor, source) -> str | None:
        from knowledge.sources.gdrive_api import DriveClient
        from knowledge.sources.gdrive_notify import stop_watching
        from knowledge.sources.state import SourceState

        return stop_watching(lambda: DriveClient(source.settings, ingestor.max_bytes),
                             SourceState(ingestor.db, source.source_id))

    def run(self, ingestor, source, result, profile) -> None:
        from knowledge.sources.gdrive import run_gdrive, scope_of
        from knowledge.sources.gdrive_notify import keep_watching
        from knowledge.sources.graph_notify import public_url_setting
        from knowledge.sources.state import SourceState

        client, token = run_gdrive(ingestor, source, result, profile)
        state = SourceState(ingestor.db, source.source_id)
        channel = keep_watching(client, source, state, token, scope_of(source.settings)[1], public_url_setting())
        if channel:
            result.changes["notifications"] = channel


def gdrive_webhook(source: Source, on_change):
    from knowledge.sources.gdrive_notify import make_gdrive_webhook

    return make_gdrive_webhook(source, on_change)


GRAPH_APP = (("tenant",), ("client_id",), ("client_secret",))

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    DocumentKind("folder", (("path",),), listing=folder_listing),
    DocumentKind("web", (("urls", "sitemap"),), listing=web_listing),
    DocumentKind("confluence", (("url",), ("space", "spaces"), ("token",)), "atlassian", listing=confluence,
                 webhook=confluence_webhook),
    DocumentKind("notion", (("token",), ("root_pages", "search")), "notion_client", listing=notion),
    GraphKind("sharepoint", (*GRAPH_APP, ("site",)), webhook=graph_webhook),
    GraphKind("onedrive", (*GRAPH_APP, ("user",)), webhook=graph_webhook),
    GDriveKind("gdrive", (("key",), ("folder", "drive")), webhook=gdrive_webhook),
    RecordsKind("bamboohr", (("company",), ("api_key",), ("leave_types",)), pull=bamboohr_pull,
                webhook=bamboohr_webhook),
    RecordsKind("merge", (("api_key",), ("account_token",), ("leave_types",)), pull=merge_pull, webhook=merge_webhook),
    RecordsKind("personio", (("client_id",), ("client_secret",), ("leave_types",)), pull=personio_pull),
    RecordsKind("sql", (("dsn",), ("queries",)), pull=sql_pull),
)}
RECORD_KINDS = [name for name, kind in KINDS.items() if kind.records]


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise ConfigurationError(f"Unknown source kind {name!r} (known: {', '.join(sorted(KINDS))}).")
    return kind
