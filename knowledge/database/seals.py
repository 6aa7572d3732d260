"""Seals are used once: a sealed job or stored event, copied by whoever holds the runtime role, is refused the
second time (migration 0018; docs/security.md). A seal also dates itself (the sealed data carries when it was
made), so a copy older than SEAL_DAYS is refused by its age and spent seals need not be kept for ever."""
from __future__ import annotations

import psycopg

SEAL_DAYS = 7
SPEND = """
INSERT INTO spent_seals (seal, purpose) VALUES (%(seal)s, %(purpose)s) ON CONFLICT DO NOTHING RETURNING 1"""
IS_SPENT = "SELECT 1 FROM spent_seals WHERE seal = %(seal)s"
PRUNE = "DELETE FROM spent_seals WHERE spent_at < now() - make_interval(days => %(days)s)"


def spend(conn: psycopg.Connection, seal: bytes, purpose: str) -> bool:
    """Spend a seal in the caller's transaction: True the first time, False for a seal used before."""
    return conn.execute(SPEND, {"seal": bytes(seal), "purpose": purpose}).fetchone() is not None


def is_spent(conn: psycopg.Connection, seal: bytes) -> bool:
    return conn.execute(IS_SPENT, {"seal": bytes(seal)}).fetchone() is not None


def prune(conn: psycopg.Connection, days: int = SEAL_DAYS) -> int:
    """As the owner: seals older than anything still accepted."""
    return conn.execute(PRUNE, {"days": days + 1}).rowcount
