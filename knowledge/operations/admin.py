"""HR admins: who may change the knowledge base. What they change goes to the audit log (knowledge.database.audit)."""
from __future__ import annotations

from knowledge.database.audit import audit
from knowledge.database.connection import Database

IS_ADMIN = "SELECT 1 FROM admins WHERE slack_user_id = %(slack_user_id)s"
ADD_ADMIN = """
INSERT INTO admins (slack_user_id, added_by) VALUES (%(slack_user_id)s, %(added_by)s)
ON CONFLICT DO NOTHING RETURNING slack_user_id"""
REMOVE_ADMIN = "DELETE FROM admins WHERE slack_user_id = %(slack_user_id)s RETURNING slack_user_id"
LIST_ADMINS = "SELECT slack_user_id, added_by, added_at FROM admins ORDER BY added_at"


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

