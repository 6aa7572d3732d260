"""The application façade: what employees and HR admins can do, whatever the surface (Slack, the command line).

Surfaces call these methods and render what they return; they do not reach into the database, the ingestor or
the records reader. Errors an employee may see come back as kind answers; an admin's mistakes raise HRBotError
with a message meant for them.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import date, datetime
from threading import BoundedSemaphore
from typing import Callable

from knowledge.answering.answers import Answer, Asker
from knowledge.answering.chain import NO_RECORD
from knowledge.answering.conversations import ConversationLog, LoggedQuestion
from knowledge.answering.events import EventLedger
from knowledge.errors import DatabaseUnavailable, DiskFull, HRBotError, NotFound
from knowledge.runtime import Runtime

log = logging.getLogger(__name__)

UNAVAILABLE = ("Sorry, I can't reach the HR knowledge base right now. Please try again in a few minutes, "
               "or contact {hr_contact}.")
FAILED = "Sorry, something went wrong while I was looking that up. Please try again, or contact {hr_contact}."
HOME_FACT_KINDS = ("balance", "leave")
RECORD_FILE_SUFFIX = ".csv"


@dataclass
class Asked:
    answer: Answer
    question_id: int | None       # the logged question (feedback and escalation refer to it); None if not logged
    public: Answer | None = None  # with for_channel: the same answer without the asker's records


@dataclass(frozen=True)
class KnowledgeBaseStatus:
    documents: int
    chunks: int
    last_upload: datetime | None


@dataclass(frozen=True)
class HomeSummary:
    facts: list[str]                              # the asker's leave this year, computed from their records
    notice: str | None                            # why there are no facts (no record linked)
    knowledge_base: KnowledgeBaseStatus | None    # for admins only


@dataclass(frozen=True)
class FileAdded:
    """The outcome of an admin's file: a document ingested (ingest) or records imported (records)."""
    name: str
    ingest: object | None = None    # knowledge.documents.ingest.IngestResult
    records: object | None = None   # knowledge.people.records.ImportResult


class HRAssistant:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.conversations = ConversationLog(runtime.db)
        self.events = EventLedger(runtime.db)
        # Answering is CPU-bound (the embedding model): about one per core at a time, so queued work waits
        # instead of fighting for the CPU, and the threads that acknowledge requests get scheduled promptly.
        self._gate = BoundedSemaphore(max(2, os.cpu_count() or 2))

    @property
    def settings(self):
        return self.runtime.settings

    def kind(self, template: str) -> str:
        return template.format(hr_contact=self.settings.hr_contact)

    # --- employees ----------------------------------------------------------------------------------------------

    def answer(self, question: str, asker: Asker, history: list[tuple[str, str]] | None = None,
               today: date | None = None, operator: str | None = None) -> Answer:
        """The answer alone, not logged and with errors raised (the command line's `ask` and chat). operator:
        who runs the command, audited as the reader of the asker's records."""
        return self.runtime.answers.answer(question, asker, history=history, today=today, operator=operator)

    def ask(self, question: str, asker: Asker, surface: str, history: list[tuple[str, str]] | None = None,
            for_channel: bool = False) -> Asked:
        """Answer and log once. Failures become a kind answer; the details go to the log only.
        for_channel: also return the copy others may read, from the same pass."""
        from knowledge.operations.metrics import observe_answer

        started = time.perf_counter()
        asked = self._ask(question, asker, surface, history, for_channel)
        observe_answer(surface, asked.answer.kind, asked.answer.supported, time.perf_counter() - started)
        return asked

    def _ask(self, question, asker, surface, history, for_channel) -> Asked:
        public = None
        try:
            with self._gate:
                if for_channel:
                    answer, public = self.runtime.answers.answer_with_channel_copy(question, asker, history=history)
                else:
                    answer = self.runtime.answers.answer(question, asker, history=history)
        except (DatabaseUnavailable, DiskFull):  # the operator's problem, not the asker's: the kind line, logged
            log.exception("database unavailable while answering")
            return Asked(Answer(self.kind(UNAVAILABLE), kind="error"), None)
        except HRBotError as exc:
            log.warning("could not answer: %s", exc)
            return Asked(Answer(str(exc), kind="error"), None)
        except Exception:
            log.exception("answering failed")
            return Asked(Answer(self.kind(FAILED), kind="error"), None)
        try:
            question_id = self.conversations.record(question=question, answer=answer, surface=surface,
                                                    slack_user_id=asker.slack_user_id, employee_id=answer.employee_id)
        except Exception:  # the answer still goes out; feedback buttons are simply left off
            log.exception("could not log the question")
            question_id = None
        return Asked(answer, question_id, public)

    def home(self, asker: Asker, today: date | None = None) -> HomeSummary:
        """The asker's leave this year (an audited read of their records) and, for admins, the knowledge base."""
        from knowledge.database import audit
        from knowledge.people.personal import personal_facts

        records_reader = self.runtime.records
        employee_id = records_reader.resolve(asker.slack_user_id, asker.email, asker.email_lookup)
        records = records_reader.load(employee_id) if employee_id else None
        facts: list[str] = []
        if records is not None:
            audit.record(self.runtime.db, asker.slack_user_id or "unknown", "read_records", employee_id,
                         surface="app_home")
            facts = [d.page_content for d in personal_facts(records, today or date.today(), self.runtime.profile)
                     if d.metadata.get("kind") in HOME_FACT_KINDS]
        status = self.knowledge_base_status() if self.is_admin(asker.slack_user_id) else None
        return HomeSummary(facts, None if facts else NO_RECORD, status)

    def feedback(self, question_id: int, slack_user_id: str, helpful: bool, comment: str | None = None) -> None:
        self.conversations.feedback(question_id, slack_user_id, helpful, comment)

    def logged_question(self, question_id: int) -> LoggedQuestion | None:
        return self.conversations.get(question_id)

    def escalate(self, question_id: int, slack_user_id: str, destination: str, send: Callable[[], None]) -> bool:
        """Hand a question to HR: send runs inside the transaction that records it, so a failed send records
        nothing and the next attempt tries again."""
        return self.conversations.escalate(question_id, slack_user_id, destination, send)

    # --- scheduled sources --------------------------------------------------------------------------------------

    @property
    def sources(self):
        from knowledge.sources.store import SourceStore

        return SourceStore(self.runtime.db)

    def run_sources(self, names: list[str] | None = None, alert=None, actor: str | None = None) -> list:
        """Run the named sources now (all when None); an admin's run is in the audit log under their name."""
        from knowledge.database import audit
        from knowledge.sources.runner import run_source

        store = self.sources
        chosen = [store.get(n) for n in names] if names else store.list()
        results = []
        for source in chosen:
            results.append(run_source(self.runtime.ingestor, store, source, alert, self.runtime.profile))
            if actor:
                audit.record(self.runtime.db, actor, "source_run", source.name, status=results[-1].status)
        return results

    def remove_source(self, name: str, keep_documents: bool, actor: str) -> int:
        """Remove a source; unless keep_documents, retire the documents it brought in. Returns how many."""
        from knowledge.database import audit
        from knowledge.sources.mirror import SEEN

        store = self.sources
        source = store.get(name)
        retired = 0
        if not keep_documents:
            with self.runtime.db.owner.connection() as conn:
                documents = [row[1] for row in conn.execute(SEEN, {"id": source.source_id})]
            for document in documents:
                try:
                    self.runtime.ingestor.remove(document, actor=source.origin)
                    retired += 1
                except NotFound:
                    pass
        store.remove(name)
        audit.record(self.runtime.db, actor, "source_remove", name, retired=retired)
        return retired

    def claim_event(self, event_id: str, body: dict):
        """The lease on a new event (knowledge.answering.events.Claim), or None for a retry or duplicate."""
        return self.events.claim(event_id, body)

    # --- background jobs: what a surface's worker needs, without reaching into the runtime ----------------------

    def job_app(self, for_worker: bool = False):
        """A procrastinate App over the job queue in this runtime's database (knowledge.operations.jobs)."""
        from knowledge.operations.jobs import build_job_app

        return build_job_app(self.runtime.db, for_worker=for_worker)

    @property
    def job_seal_key(self):
        """The key a surface seals its jobs' arguments with (the binding key, knowledge.database.roles.BindingKey,
        whose subkeys are per purpose): the runtime database role cannot read it, so a job forged with SQL carries
        no valid seal. Read each time, as the database gives it (a replica has it from HRBOT_BINDING_KEY)."""
        return self.runtime.db.binding_key

    def spend_job_seal(self, seal: bytes, purpose: str) -> bool:
        """Spend a job's seal in its own transaction, before the work (knowledge.database.seals): False when it
        was spent before, i.e. this job is a copy (a replay)."""
        from knowledge.database import seals

        with self.runtime.db.connection() as conn:
            return seals.spend(conn, seal, purpose)

    # --- HR admins ----------------------------------------------------------------------------------------------

    @property
    def profile(self):
        return self.runtime.profile

    def audiences(self) -> list[tuple[str, str]]:
        """(label, value) of the audiences a document can have: everyone, or one location."""
        return self.runtime.profile.audiences()

    def audience_label(self, value: str | None) -> str:
        return self.runtime.profile.audience_label(value)

    def is_admin(self, slack_user_id: str | None) -> bool:
        return self.runtime.admins.is_admin(slack_user_id)

    def admin_ids(self) -> list[str]:
        """The Slack ids of every HR admin (HRBOT_ADMINS, then the admins table): whom to tell when something
        needs an admin (a source that keeps failing)."""
        return [slack_user_id for slack_user_id, *_ in self.runtime.admins.list()]

    def knowledge_base_status(self) -> KnowledgeBaseStatus:
        from knowledge.documents.store import KB_COUNTS

        with self.runtime.db.connection() as conn:
            documents, chunks, last = conn.execute(KB_COUNTS).fetchone()
        return KnowledgeBaseStatus(documents, chunks, last)

    def documents(self) -> list[dict]:
        from knowledge.documents.store import list_documents

        with self.runtime.db.connection() as conn:
            return list_documents(conn)

    def remove(self, source: str, actor: str) -> int:
        """Retire a document at once (raises NotFound for an unknown name)."""
        return self.runtime.ingestor.remove(source, actor=actor)

    def set_audience(self, document_id: int, audience: str | None, actor: str) -> bool:
        """False when the document was replaced or removed since (nothing is changed then). The audience is a
        location of the company profile, or everyone ("all" or None)."""
        if audience not in (None, "all") and self.runtime.profile.location(audience) is None:
            raise HRBotError(f"{audience!r} is not a location in the company profile.")
        return self.runtime.ingestor.set_audience(document_id, audience, actor)

    def add_file(self, name: str, data: bytes, actor: str, url: str | None = None, progress=None) -> FileAdded:
        """An admin's file: CSV exports are imported as records, anything else is ingested as a document.
        Raises HRBotError (with the reason) when it cannot be used; nothing is half-written."""
        if name.lower().endswith(RECORD_FILE_SUFFIX):
            return FileAdded(name, records=self.import_records(name, data, actor))
        return FileAdded(name, ingest=self.runtime.ingestor.ingest_bytes(name, data, uploaded_by=actor, url=url,
                                                                         progress=progress))

    def import_records_files(self, files: list[tuple[str, bytes]], actor: str):
        """Several exports in one run: validated together, written in one transaction, or nothing at all."""
        from knowledge.people.imports import import_many

        return import_many(self.runtime.db, files, actor=actor, profile=self.runtime.profile)

    def import_records(self, name: str, data: bytes, actor: str):
        from knowledge.people.imports import import_csv

        return import_csv(self.runtime.db, data, actor=actor, name=name, profile=self.runtime.profile)

    def balance_check(self, actor: str) -> list[str]:
        """Where the HR system's balances and ours disagree by more than half a day, one line each. Reads every
        employee's records, so the read is audited."""
        from knowledge.database import audit
        from knowledge.people.checks import balance_disagreements, describe

        rows = balance_disagreements(self.runtime.db, self.runtime.profile)
        audit.record(self.runtime.db, actor, "read_records", "balance check", employees=len({r["employee_id"]
                                                                                            for r in rows}))
        return describe(rows)

    def sync_folder(self, folder, audience: str | None = None):
        """Make the knowledge base match a folder: documents ingested, replaced and retired; CSV exports in it
        imported as records (employees first). Returns (documents SyncResult, [FileImport])."""
        from knowledge.sources.sync import sync_folder
        from knowledge.people.imports import import_files

        documents = sync_folder(self.runtime.ingestor, folder, audience=audience)
        if documents.skipped_busy:
            return documents, []
        root = folder.resolve()
        csvs = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == RECORD_FILE_SUFFIX
                      and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                      and p.resolve().is_relative_to(root))  # no links out of the folder
        records = import_files(self.runtime.db, [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in csvs],
                               actor=documents.origin, profile=self.runtime.profile)
        return documents, records

    def gaps(self, days: int = 30) -> list[dict]:
        from knowledge.operations.reports import gaps

        return gaps(self.runtime.db, self.runtime.embeddings, days)

    def stats(self, days: int = 30) -> dict:
        from knowledge.operations.reports import stats

        return stats(self.runtime.db, days)

    # --- people's data --------------------------------------------------------------------------------------------

    def bindings(self, who: str | None, actor: str) -> list[tuple[str, str, str, str | None]]:
        """Which Slack account each employee (or the one `who` names) is bound to; the read is audited."""
        from knowledge.database import audit

        found = self.runtime.records.bindings(who)
        audit.record(self.runtime.db.require_owner("list Slack bindings"), actor, "read_bindings", who,
                     rows=len(found))
        return found

    def unbind(self, employee_id: str, actor: str) -> str | None:
        """Reset one employee's Slack binding; the Slack id that was bound, or None."""
        return self.runtime.records.unbind(employee_id, actor)

    def export_person(self, who: str, actor: str) -> dict:
        from knowledge.operations.privacy import export

        return export(self.runtime.db, who, actor)

    def forget_person(self, who: str, actor: str) -> dict:
        from knowledge.operations.privacy import forget

        return forget(self.runtime.db, who, actor)

    def prune(self) -> dict:
        """Apply the retention settings to the question log (run daily by `hrbot serve` and `hrbot worker`)."""
        from knowledge.operations.privacy import prune

        return prune(self.runtime.db, self.settings.personal_answer_days, self.settings.retention_days)

    def complete_vectors(self) -> int:
        """Add the multilingual vector to passages stored without it, and store the sentences (with their vectors)
        of passages stored without them (both after an upgrade); run hourly by `hrbot serve` and `hrbot worker`,
        no-op queries when nothing is missing. Returns how many passages gained something."""
        from knowledge.search import sentences
        from knowledge.search.reembed import fill_multilingual

        rt = self.runtime
        filled = fill_multilingual(rt.db, rt.multilingual)
        if filled:
            log.info("added the multilingual vector to %d passages", filled)
        with rt.db.connection() as conn:
            unstored = sentences.missing(conn)
        stored = sentences.fill(rt.db, rt.embeddings, rt.multilingual) if unstored else 0
        if stored:
            log.info("stored the sentences of %d passages", stored)
        return max(filled, stored)

    # --- operations ---------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        try:
            with self.runtime.db.connection() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:
            log.exception("health check failed")
            return False

    def load_samples_if_empty(self) -> bool:
        """The sample company's content on a first run (an empty knowledge base). True if it was loaded."""
        if self.knowledge_base_status().documents:
            return False
        self.runtime.load_samples()
        return True
