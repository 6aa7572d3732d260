"""The people erased on request, remembered as one-way hashes of their identifiers, so that what brings records in
(a scheduled records source) does not bring them back, and an import of them by hand lifts the erasure.

It lives with the people's records, below the rooms that consult it: the import (people), the records sources
(sources) and the erasure itself (operations.privacy, which writes it).
"""
from __future__ import annotations

import hashlib

REMEMBER_ERASED = "INSERT INTO erased_people (id_hash) VALUES (%(hash)s) ON CONFLICT DO NOTHING"
ERASED = "SELECT id_hash FROM erased_people"
LIFT_ERASED = "DELETE FROM erased_people WHERE id_hash = ANY(%(hashes)s)"


def id_hash(value: str) -> str:
    """The one-way form an erased person's identifier is remembered in."""
    return hashlib.sha256(f"hrbot-erased:{value.strip().lower()}".encode()).hexdigest()


def remember(conn, identifier: str) -> None:
    """Remember one identifier of a person being erased (in the erasure's transaction)."""
    conn.execute(REMEMBER_ERASED, {"hash": id_hash(identifier)})


def erased(conn) -> set[str]:
    """The hashes of every erased person's identifiers (scheduled records sources skip their rows)."""
    return {row[0] for row in conn.execute(ERASED)}


def lift_erasure(conn, identifiers) -> int:
    """A person imported again by hand: the erasure no longer keeps them out."""
    return conn.execute(LIFT_ERASED, {"hashes": [id_hash(i) for i in identifiers if i]}).rowcount
