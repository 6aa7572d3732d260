"""Least privilege: the running bot's database role, and the key that binds a transaction to one employee.

Two roles, as a managed deployment has them:
- the **owner** runs migrations, imports (records CSV, documents, the schedule's sources), re-embedding and the
  privacy commands. It owns the tables.
- the **runtime role** (DATABASE_URL's user; `hrbot_app` on the embedded server, which creates it) answers
  questions and handles Slack. It owns nothing, cannot create anything, cannot bypass row-level security, and
  reaches personal tables only through the policies of migration 0011.

Those policies let a row through only for the employee a transaction was *bound* to, and a binding holds only
with an HMAC-SHA256 proof over (employee id, backend pid, time) made with a key the runtime role cannot read
(`hrbot_secrets`, owner only; `hrbot_asker()` checks it as the owner). An injected `set_config`, `RESET ROLE`
or `SET ROLE` therefore reveals nothing: the proof cannot be forged from SQL. The application reads the key
once, over the owner connection, and signs each binding in memory.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import psycopg
from psycopg import sql

RUNTIME_ROLE = "hrbot_app"  # the embedded server's runtime login role
RECORDS_ROLE = "hrbot_records"  # the role the records path reads as (migration 0002)
PERSONAL_TABLES = ("employees", "leave_entitlements", "leave_records", "leave_balances")
OWNER_ONLY_TABLES = ("hrbot_secrets", "erased_people")
# colleague_names: the guard reads the digests; writing them is the owner's (a runtime role that could delete them
# would switch off the recognition of colleagues' names)
READ_ONLY_TABLES = ("schema_migrations", "colleague_names")
BINDING_KEY = "records"
_BLOCK = 64  # SHA-256's block size: the stored keys are the HMAC key XOR ipad / opad, one block each

READ_KEY = "SELECT inner_key, outer_key FROM hrbot_secrets WHERE name = %(name)s"
STORE_KEY = """
INSERT INTO hrbot_secrets (name, inner_key, outer_key) VALUES (%(name)s, %(inner)s, %(outer)s)
ON CONFLICT (name) DO NOTHING"""


class BindingKey:
    """Signs bindings: the same HMAC-SHA256 as hrbot_asker() computes from the stored pads."""

    def __init__(self, inner: bytes, outer: bytes):
        self._inner, self._outer = bytes(inner), bytes(outer)

    def proof(self, employee_id: str, backend_pid: int, issued: int | None = None) -> str:
        issued = int(time.time()) if issued is None else issued
        message = f"{employee_id}:{backend_pid}:{issued}".encode()
        digest = hashlib.sha256(self._outer + hashlib.sha256(self._inner + message).digest()).hexdigest()
        return f"{issued}:{digest}"

    def _hmac(self, message: bytes) -> bytes:
        return hashlib.sha256(self._outer + hashlib.sha256(self._inner + message).digest()).digest()

    def mac(self, purpose: str, data: bytes) -> bytes:
        """A MAC for one purpose (sealing stored events, hashing colleagues' names, ...): HMAC-SHA256 under a
        subkey derived from the binding key for that purpose, so no purpose's MAC is valid for another and none
        is a binding proof (those sign "id:pid:issued", two colons; subkeys are derived from "hrbot-subkey:NAME",
        whose purpose names have no colon)."""
        if ":" in purpose:
            raise ValueError("a MAC purpose has no colon")
        subkey = self._hmac(f"hrbot-subkey:{purpose}".encode())
        return hmac.new(subkey, data, hashlib.sha256).digest()


def pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keys for `key` (RFC 2104): stored instead of the key so SQL needs only sha256()."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def verify_pads(key: bytes, message: bytes, inner: bytes, outer: bytes) -> bool:
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    got = hashlib.sha256(outer + hashlib.sha256(inner + message).digest()).hexdigest()
    return hmac.compare_digest(expected, got)


def ensure_binding_key(conn: psycopg.Connection) -> None:
    """Create the binding key once (as the owner); a key that exists is kept (every replica shares it)."""
    inner, outer = pads(secrets.token_bytes(32))
    conn.execute(STORE_KEY, {"name": BINDING_KEY, "inner": inner, "outer": outer})


def read_binding_key(conn: psycopg.Connection) -> BindingKey | None:
    row = conn.execute(READ_KEY, {"name": BINDING_KEY}).fetchone()
    return BindingKey(*row) if row else None


def create_runtime_role(conn: psycopg.Connection, role: str = RUNTIME_ROLE) -> None:
    """The embedded server's runtime login role (its socket directory is private, so no password)."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(
            sql.Identifier(role)))


def grant_runtime(conn: psycopg.Connection, role: str) -> None:
    """What the runtime role may do, granted again after every upgrade so new tables are covered: read and write
    the operational and knowledge tables, read the migrations list, read personal tables only as hrbot_records
    (bound by policy), nothing on the secrets; use sequences and the job queue's functions."""
    who = sql.Identifier(role)
    tables = [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").fetchall()]
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(RECORDS_ROLE), who))
    for table in tables:
        name = sql.Identifier(table)
        if table in PERSONAL_TABLES or table in OWNER_ONLY_TABLES:
            conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(name, who))
        elif table in READ_ONLY_TABLES:
            conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(name, who))
        else:
            conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(name, who))
    conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who))
    conn.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(who))


def role_facts(conn: psycopg.Connection) -> dict:
    """Who this connection is and what it can do, for `hrbot doctor` and the tests."""
    row = conn.execute("""
        SELECT current_user, r.rolsuper, r.rolbypassrls, r.rolcreaterole,
               (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace)
        FROM pg_roles r WHERE r.rolname = current_user""").fetchone()
    return {"role": row[0], "superuser": row[1], "bypass_rls": row[2], "create_role": row[3], "owns": row[4]}
