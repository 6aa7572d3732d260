"""The audit log: a record of what was done and read (admin actions, every read of someone's personal records).

It lives here, below every room that writes to it (people, documents, sources, answering, operations), because it
needs nothing but a connection: an entry written with `audit` joins the caller's transaction, so it commits or
rolls back with the action it describes. Who may act (the admins) is a separate concern, in operations/admin.py.
"""
from __future__ import annotations

import json
from datetime import datetime

from knowledge.database.connection import Database

AUDIT = """
INSERT INTO audit_log (actor, action, target, details) VALUES (%(actor)s, %(action)s, %(target)s, %(details)s)"""
AUDIT_QUERY = """
SELECT at, actor, action, target, details FROM audit_log
WHERE at >= %(since)s
  AND (%(actor)s::text IS NULL OR actor = %(actor)s)
  AND (%(action)s::text IS NULL OR action = %(action)s)
ORDER BY at DESC, audit_id DESC
LIMIT %(limit)s"""


def audit(conn, actor: str, action: str, target: str | None = None, **details) -> None:
    """Write one audit entry in the caller's transaction (so it commits or rolls back with the action)."""
    conn.execute(AUDIT, {"actor": actor, "action": action, "target": target,
                         "details": json.dumps(details, default=str)})


def record(db: Database, actor: str, action: str, target: str | None = None, **details) -> None:
    """Write one audit entry in a transaction of its own (the action it describes is already done, or was a read)."""
    with db.connection() as conn:
        audit(conn, actor, action, target, **details)


def query(db: Database, since: datetime, actor: str | None = None, action: str | None = None,
          limit: int = 200) -> list[dict]:
    with db.connection() as conn:
        rows = conn.execute(AUDIT_QUERY, {"since": since, "actor": actor, "action": action,
                                          "limit": limit}).fetchall()
    return [{"at": at, "actor": a, "action": act, "target": t, "details": d} for at, a, act, t, d in rows]
