"""What an incremental source keeps between runs (migration 0021): named values such as the service's cursor (a
Graph deltaLink, a Drive page token) or a notification subscription, and the tree of folders and files a delta
has described. The cursor and the tree are saved together, in one transaction, once a run has applied every change
up to that cursor: a run that fails half-way leaves both as they were, and the next run applies the same changes
again (applying one twice changes nothing: each file's version is remembered in source_items)."""
from __future__ import annotations

import json

from dataclasses import dataclass
from datetime import datetime

GET = "SELECT value, expires_at FROM source_state WHERE source_id = %(id)s AND name = %(name)s"
PUT = """
INSERT INTO source_state (source_id, name, value, expires_at, updated_at)
VALUES (%(id)s, %(name)s, %(value)s, %(expires)s, now())
ON CONFLICT (source_id, name) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
                                            updated_at = now()"""
DROP = "DELETE FROM source_state WHERE source_id = %(id)s AND name = %(name)s"
TREE = "SELECT item_id, parent_id, name, folder FROM source_tree WHERE source_id = %(id)s"
CLEAR_TREE = "DELETE FROM source_tree WHERE source_id = %(id)s"
UPSERT_NODE = """
INSERT INTO source_tree (source_id, item_id, parent_id, name, folder) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (source_id, item_id) DO UPDATE SET parent_id = excluded.parent_id, name = excluded.name,
                                               folder = excluded.folder"""
DROP_NODE = "DELETE FROM source_tree WHERE source_id = %s AND item_id = %s"


@dataclass(frozen=True)
class Node:
    """A folder or file as the service names it: by id, with its parent's id."""
    parent: str | None
    name: str
    folder: bool


class SourceState:
    def __init__(self, db, source_id: int):
        self.db, self.id = db, source_id

    def get(self, name: str) -> tuple[str, datetime | None] | None:
        with self.db.connection() as conn:
            return conn.execute(GET, {"id": self.id, "name": name}).fetchone()

    def put(self, name: str, value: str, expires: datetime | None = None) -> None:
        with self.db.connection() as conn:
            conn.execute(PUT, {"id": self.id, "name": name, "value": value, "expires": expires})

    def drop(self, name: str) -> None:
        with self.db.connection() as conn:
            conn.execute(DROP, {"id": self.id, "name": name})

    def tree(self) -> dict[str, Node]:
        with self.db.connection() as conn:
            return {row[0]: Node(row[1], row[2], row[3]) for row in conn.execute(TREE, {"id": self.id})}

    def save(self, cursor_name: str, cursor: str, tree: dict[str, Node], *, whole: bool,
             changed: set[str]) -> None:
        """The new cursor and the tree, in one transaction. whole: the tree replaces what was kept (a full
        listing); else only the ids in `changed` are written (or deleted, when no longer in the tree)."""
        with self.db.connection() as conn, conn.transaction():
            if whole:
                conn.execute(CLEAR_TREE, {"id": self.id})
                changed = set(tree)
            with conn.cursor() as cur:
                rows = [(self.id, i, tree[i].parent, tree[i].name, tree[i].folder) for i in changed if i in tree]
                if rows:
                    cur.executemany(UPSERT_NODE, rows)
                gone = [(self.id, i) for i in changed if i not in tree]
                if gone:
                    cur.executemany(DROP_NODE, gone)
            conn.execute(PUT, {"id": self.id, "name": cursor_name, "value": cursor, "expires": None})


def held_for(state: "SourceState", name: str, url: str, renew_before, now) -> tuple[dict | None, str | None]:
    """What a source holds for notifications under `name` (a Graph subscription, a Drive channel: JSON with its
    "url"), and "on until <date>" when it is for this address and lasts beyond renew_before (nothing to do)."""
    kept = state.get(name)
    held = json.loads(kept[0]) if kept else None
    if held and held.get("url") == url and kept[1] and kept[1] - now > renew_before:
        return held, f"on until {kept[1]:%Y-%m-%d}"
    return held, None
