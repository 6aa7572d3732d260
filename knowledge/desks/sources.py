"""The HR admins' and the scheduler's desk for scheduled sources: add, list, run now, remove (with the documents
a source brought in, unless kept). An admin's run and removal are in the audit log under their name."""
from __future__ import annotations

import logging

from knowledge.errors import NotFound
from knowledge.runtime import Runtime
from knowledge.sources.items import Source
from knowledge.sources.state import SourceState
from knowledge.sources.store import SourceStore

log = logging.getLogger(__name__)


class SourcesDesk:
    def __init__(self, runtime: Runtime):
        self._runtime = runtime

    @property
    def _store(self) -> SourceStore:
        return SourceStore(self._runtime.db)

    def add(self, name: str, kind: str, settings: dict, every_seconds: int, audience: str | None,
            actor: str) -> Source:
        """A new source (its kind's settings checked now); the addition is audited."""
        return self._store.add(name, kind, settings, every_seconds, audience, actor)

    def find(self, name: str) -> Source | None:
        """The source named so, or None (one row: a webhook looks its source up on every request)."""
        try:
            return self._store.get(name)
        except NotFound:
            return None

    def state(self, source: Source) -> SourceState:
        """What the source's runs keep (cursors, a notification subscription): a webhook checks against it."""
        return SourceState(self._runtime.db, source.source_id)

    def list(self) -> list[Source]:
        return self._store.list()

    def due(self) -> list[Source]:
        """The sources whose next run has come (the scheduler queues each as a job)."""
        return self._store.due()

    def run(self, names: list[str] | None = None, alert=None, actor: str | None = None) -> list:
        """Run the named sources now (all when None); an admin's run is in the audit log under their name.
        alert: (source, failures, error), called once per failing streak."""
        from knowledge.database import audit
        from knowledge.sources.runner import run_source

        store = self._store
        chosen = [store.get(n) for n in names] if names else store.list()
        results = []
        for source in chosen:
            results.append(run_source(self._runtime.ingestor, store, source, alert, self._runtime.profile))
            if actor:
                audit.record(self._runtime.db, actor, "source_run", source.name, status=results[-1].status)
        return results

    def remove(self, name: str, keep_documents: bool, actor: str) -> int:
        """Remove a source; unless keep_documents, retire the documents it brought in. Returns how many."""
        from knowledge.database import audit
        from knowledge.sources.mirror import SEEN

        store = self._store
        source = store.get(name)
        retired = 0
        if not keep_documents:
            with self._runtime.db.owner.connection() as conn:
                documents = [row[1] for row in conn.execute(SEEN, {"id": source.source_id})]
            for document in documents:
                try:
                    self._runtime.ingestor.remove(document, actor=source.origin, uploaded_by=source.origin)
                    retired += 1
                except NotFound:
                    pass
        self._unsubscribe(source)
        store.remove(name)
        audit.record(self._runtime.db, actor, "source_remove", name, retired=retired)
        return retired

    def _unsubscribe(self, source) -> None:
        """End the source's subscription or push channel at its service. Best effort: a service that cannot be
        reached from here (or credentials this machine lacks) must not keep an admin from removing the source; the
        subscription then expires by itself, and notifications to the removed name get 404 meanwhile."""
        from knowledge.errors import HRBotError
        from knowledge.sources.kinds import KINDS

        kind = KINDS.get(source.kind)
        if kind is None:
            return
        try:
            done = kind.unsubscribe(self._runtime.ingestor, source)
        except (HRBotError, OSError) as exc:
            log.warning("source %s: could not end its notifications at the service (%s); they expire by themselves",
                        source.name, exc)
            return
        if done:
            log.info("source %s: %s", source.name, done)
