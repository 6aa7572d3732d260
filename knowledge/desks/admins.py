"""The HR admins' desk for what the bot knows and how it is used: documents (added, removed, their audience),
records (imported, checked against the HR system), a folder kept in step, the knowledge base's status, the
questions it could not answer and its usage; and who the admins are. An admin's mistakes raise HRBotError with a
message meant for them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from knowledge.errors import HRBotError
from knowledge.runtime import Runtime

RECORD_FILE_SUFFIX = ".csv"


@dataclass(frozen=True)
class KnowledgeBaseStatus:
    documents: int
    chunks: int
    last_upload: datetime | None


@dataclass(frozen=True)
class FileAdded:
    """The outcome of an admin's file: a document ingested (ingest) or records imported (records)."""
    name: str
    ingest: object | None = None    # knowledge.documents.ingest.IngestResult
    records: object | None = None   # knowledge.people.records.ImportResult


class AdminDesk:
    def __init__(self, runtime: Runtime):
        self._runtime = runtime

    @property
    def settings(self):
        return self._runtime.settings

    # --- who the admins are ---------------------------------------------------------------------------------

    def is_admin(self, slack_user_id: str | None) -> bool:
        return self._runtime.admins.is_admin(slack_user_id)

    def admin_ids(self) -> list[str]:
        """The Slack ids of every HR admin (HRBOT_ADMINS, then the admins table): whom to tell when something
        needs an admin (a source that keeps failing)."""
        return [slack_user_id for slack_user_id, *_ in self._runtime.admins.list()]

    # --- documents ------------------------------------------------------------------------------------------

    def audiences(self) -> list[tuple[str, str]]:
        """(label, value) of the audiences a document can have: everyone, or one location."""
        return self._runtime.profile.audiences()

    def audience_label(self, value: str | None) -> str:
        return self._runtime.profile.audience_label(value)

    def knowledge_base_status(self) -> KnowledgeBaseStatus:
        from knowledge.documents.store import KB_COUNTS

        with self._runtime.db.connection() as conn:
            documents, chunks, last = conn.execute(KB_COUNTS).fetchone()
        return KnowledgeBaseStatus(documents, chunks, last)

    def documents(self) -> list[dict]:
        from knowledge.documents.store import list_documents

        with self._runtime.db.connection() as conn:
            return list_documents(conn)

    def remove(self, source: str, actor: str, version: int | None = None) -> int:
        """Retire a document's versions at once, or only `version` (raises NotFound for an unknown one)."""
        return self._runtime.ingestor.remove(source, actor=actor, version=version)

    def set_audience(self, document_id: int, audience: str | None, actor: str) -> bool:
        """False when the document was replaced or removed since (nothing is changed then). The audience is a
        location of the company profile, or everyone ("all" or None)."""
        if audience not in (None, "all") and self._runtime.profile.location(audience) is None:
            raise HRBotError(f"{audience!r} is not a location in the company profile.")
        return self._runtime.ingestor.set_audience(document_id, audience, actor)

    def add_file(self, name: str, data: bytes, actor: str, url: str | None = None, progress=None,
                 effective: date | None = None) -> FileAdded:
        """An admin's file: CSV exports are imported as records, anything else is ingested as a document (a
        version in force from `effective`, when given). Raises HRBotError (with the reason) when it cannot be
        used; nothing is half-written."""
        if name.lower().endswith(RECORD_FILE_SUFFIX):
            if effective is not None:
                raise HRBotError("Records have no effective date: share the CSV export without one.")
            return FileAdded(name, records=self.import_records(name, data, actor))
        return FileAdded(name, ingest=self._runtime.ingestor.ingest_bytes(name, data, uploaded_by=actor, url=url,
                                                                          progress=progress, effective=effective))

    @staticmethod
    def effective_date(message: str | None) -> date | None:
        """The day an admin's message beside a shared file says it takes effect ("effective 2027-04-01"), None
        when it names none; raises HRBotError with a kind message when the date cannot be read."""
        from knowledge.documents.versions import effective_in_message

        return effective_in_message(message)

    def sync_folder(self, folder: Path, audience: str | None = None):
        """Make the knowledge base match a folder: documents ingested, replaced and retired; CSV exports in it
        imported as records (employees first). Returns (documents SyncResult, [FileImport])."""
        from knowledge.people.imports import import_files
        from knowledge.sources.sync import sync_folder

        documents = sync_folder(self._runtime.ingestor, folder, audience=audience)
        if documents.skipped_busy:
            return documents, []
        records = import_files(self._runtime.db, [(p.relative_to(folder).as_posix(), p.read_bytes())
                                                  for p in record_files(folder)],
                               actor=documents.origin, profile=self._runtime.profile)
        return documents, records

    # --- records --------------------------------------------------------------------------------------------

    def import_records_files(self, files: list[tuple[str, bytes]], actor: str):
        """Several exports in one run: validated together, written in one transaction, or nothing at all."""
        from knowledge.people.imports import import_many

        return import_many(self._runtime.db, files, actor=actor, profile=self._runtime.profile)

    def import_records(self, name: str, data: bytes, actor: str):
        from knowledge.people.imports import import_csv

        return import_csv(self._runtime.db, data, actor=actor, name=name, profile=self._runtime.profile)

    def balance_check(self, actor: str) -> list[str]:
        """Where the HR system's balances and ours disagree by more than half a day, one line each. Reads every
        employee's records, so the read is audited."""
        from knowledge.database import audit
        from knowledge.people.checks import balance_disagreements, describe

        rows = balance_disagreements(self._runtime.db, self._runtime.profile)
        audit.record(self._runtime.db, actor, "read_records", "balance check",
                     employees=len({r["employee_id"] for r in rows}))
        return describe(rows)

    # --- how the bot is used --------------------------------------------------------------------------------

    def gaps(self, days: int = 30) -> list[dict]:
        from knowledge.operations.reports import gaps

        return gaps(self._runtime.db, self._runtime.embeddings, days)

    def stats(self, days: int = 30) -> dict:
        from knowledge.operations.reports import stats

        return stats(self._runtime.db, days)


def record_files(folder: Path) -> list[Path]:
    """The CSV exports in a folder, hidden ones and links out of it left out."""
    root = folder.resolve()
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == RECORD_FILE_SUFFIX
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                  and p.resolve().is_relative_to(root))  # no links out of the folder
