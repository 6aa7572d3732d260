"""The desk for people's data, used by HR admins and the retention job: who is bound to which Slack account (and
resetting it), everything held about one person (a subject access request) or its erasure, and the question log's
retention. Every read and change is audited."""
from __future__ import annotations

from knowledge.runtime import Runtime


class PrivacyDesk:
    def __init__(self, runtime: Runtime):
        self._runtime = runtime

    def bindings(self, who: str | None, actor: str) -> list[tuple[str, str, str, str | None]]:
        """Which Slack account each employee (or the one `who` names) is bound to; the read is audited."""
        from knowledge.database import audit

        found = self._runtime.records.bindings(who)
        audit.record(self._runtime.db.require_owner("list Slack bindings"), actor, "read_bindings", who,
                     rows=len(found))
        return found

    def unbind(self, employee_id: str, actor: str) -> str | None:
        """Reset one employee's Slack binding; the Slack id that was bound, or None."""
        return self._runtime.records.unbind(employee_id, actor)

    def export_person(self, who: str, actor: str) -> dict:
        from knowledge.operations.privacy import export

        return export(self._runtime.db, who, actor)

    def forget_person(self, who: str, actor: str) -> dict:
        from knowledge.operations.privacy import forget

        return forget(self._runtime.db, who, actor)

    def prune(self) -> dict:
        """Apply the retention settings to the question log (run daily by `hrbot serve` and `hrbot worker`)."""
        from knowledge.operations.privacy import prune

        settings = self._runtime.settings
        return prune(self._runtime.db, settings.personal_answer_days, settings.retention_days)
