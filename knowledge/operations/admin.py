"""HR admins and the audit log: who may change the knowledge base, and a record of what was done and read."""
from __future__ import annotations

import json
from datetime import datetime

from knowledge.database.connection import Database

IS_ADMIN = "SELECT 1 FROM admins WHERE slack_user_id = %(slack_user_id)s"
ADD_ADMIN = """
INSERT INTO admins (slack_user_id, added_by) VALUES (%(slack_user_id)s, %(added_by)s)
ON CONFLICT DO NOTHING RETURNING slack_user_id"""
REMOVE_ADMIN = "DELETE FROM admins WHERE slack_user_id = %(slack_user_id)s RETURNING slack_user_id"
LIST_ADMINS = "SELECT slack_user_id, added_by, added_at FROM admins ORDER BY added_at"
AUDIT = """
INSERT INTO audit_log (actor, action, target, details) VALUES (%(actor)s, %(action)s, %(target)s, %(details)s)"""
AUDIT_QUERY = """
SELECT at, actor, action, target, details FROM audit_log
WHERE at >= %(since)s
  AND (%(actor)s::text IS NULL OR actor = %(actor)s)
  AND (%(action)s::text IS NULL OR action = %(action)s)
ORDER BY at DESC, audit_id DESC
LIMIT %(limit)s"""


class Admins:
    """Admins are HRBOT_ADMINS plus the admins table; checked on the server for every admin action."""

    def __init__(self, db: Database, configured: set[str]):
        self.db = db
        self.configured = configured

    def is_admin(self, slack_user_id: str | None) -> bool:
        if not slack_user_id:
            return False
        if slack_user_id in self.configured:
            return True
        with self.db.connection() as conn:
            return conn.execute(IS_ADMIN, {"slack_user_id": slack_user_id}).fetchone() is not None

    def add(self, slack_user_id: str, added_by: str) -> bool:
        with self.db.require_owner("change who is an HR admin").connection() as conn:
            added = conn.execute(ADD_ADMIN, {"slack_user_id": slack_user_id, "added_by": added_by}).fetchone()
            if added:
                audit(conn, added_by, "admin_add", slack_user_id)
        return added is not None

    def remove(self, slack_user_id: str, removed_by: str) -> bool:
        with self.db.require_owner("change who is an HR admin").connection() as conn:
            removed = conn.execute(REMOVE_ADMIN, {"slack_user_id": slack_user_id}).fetchone()
            if removed:
                audit(conn, removed_by, "admin_remove", slack_user_id)
        return removed is not None

    def list(self) -> list[tuple[str, str, object]]:
        with self.db.connection() as conn:
            stored = conn.execute(LIST_ADMINS).fetchall()
        return [(uid, "HRBOT_ADMINS", None) for uid in sorted(self.configured)] + [tuple(r) for r in stored]


def audit(conn, actor: str, action: str, target: str | None = None, **details) -> None:
    """Write one audit entry in the caller's transaction (so it commits or rolls back with the action)."""
    conn.execute(AUDIT, {"actor": actor, "action": action, "target": target,
                         "details": json.dumps(details, default=str)})


def record(db: Database, actor: str, action: str, target: str | None = None, **details) -> None:
    with db.connection() as conn:
        audit(conn, actor, action, target, **details)


def query(db: Database, since: datetime, actor: str | None = None, action: str | None = None,
          limit: int = 200) -> list[dict]:
    with db.connection() as conn:
        rows = conn.execute(AUDIT_QUERY, {"since": since, "actor": actor, "action": action,
                                          "limit": limit}).fetchall()
    return [{"at": at, "actor": a, "action": act, "target": t, "details": d} for at, a, act, t, d in rows]
