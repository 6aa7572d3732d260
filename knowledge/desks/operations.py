"""The operators' and the workers' desk: health, the job queue (its App, the key its jobs are sealed with, spending
a seal once), the hourly completion of multilingual vectors, jobs of a dead worker, and the sample company on a
first run."""
from __future__ import annotations

import logging

from knowledge.runtime import Runtime

log = logging.getLogger(__name__)


class OperationsDesk:
    def __init__(self, runtime: Runtime):
        self._runtime = runtime

    def healthy(self) -> bool:
        try:
            with self._runtime.db.connection() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:
            log.exception("health check failed")
            return False

    def job_app(self, for_worker: bool = False):
        """A procrastinate App over the job queue in this runtime's database (knowledge.operations.jobs)."""
        from knowledge.operations.jobs import build_job_app

        return build_job_app(self._runtime.db, for_worker=for_worker)

    @property
    def job_seal_key(self):
        """The key a surface seals its jobs' arguments with (the binding key, knowledge.database.roles.BindingKey,
        whose subkeys are per purpose): the runtime database role cannot read it, so a job forged with SQL carries
        no valid seal. Read each time, as the database gives it (a replica has it from HRBOT_BINDING_KEY)."""
        return self._runtime.db.binding_key

    def spend_job_seal(self, seal: bytes, purpose: str) -> bool:
        """Spend a job's seal in its own transaction, before the work (knowledge.database.seals): False when it
        was spent before, i.e. this job is a copy (a replay)."""
        from knowledge.database import seals

        with self._runtime.db.connection() as conn:
            return seals.spend(conn, seal, purpose)

    def retry_stalled_jobs(self) -> int:
        """Jobs a dead worker left running, queued again. Returns how many."""
        from knowledge.operations.jobs import retry_stalled

        return len(retry_stalled(self._runtime.db))

    def complete_vectors(self) -> int:
        """Add the multilingual vector to passages stored without it, and store the sentences (with their vectors)
        of passages stored without them (both after an upgrade); run hourly by `hrbot serve` and `hrbot worker`,
        no-op queries when nothing is missing. Returns how many passages gained something."""
        from knowledge.search import sentences
        from knowledge.search.reembed import fill_multilingual

        rt = self._runtime
        filled = fill_multilingual(rt.db, rt.multilingual)
        if filled:
            log.info("added the multilingual vector to %d passages", filled)
        with rt.db.connection() as conn:
            unstored = sentences.missing(conn)
        stored = sentences.fill(rt.db, rt.embeddings, rt.multilingual) if unstored else 0
        if stored:
            log.info("stored the sentences of %d passages", stored)
        return max(filled, stored)

    def load_samples_if_empty(self) -> bool:
        """The sample company's content on a first run (an empty knowledge base). True if it was loaded."""
        from knowledge.documents.store import KB_COUNTS

        with self._runtime.db.connection() as conn:
            documents = conn.execute(KB_COUNTS).fetchone()[0]
        if documents:
            return False
        self._runtime.load_samples()
        return True
