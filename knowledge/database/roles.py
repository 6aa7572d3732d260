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
import logging
import secrets
import time

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

RUNTIME_ROLE = "hrbot_app"  # the embedded server's runtime login role
RECORDS_ROLE = "hrbot_records"  # the role the records path reads as (migration 0002)
PERSONAL_TABLES = ("employees", "leave_entitlements", "leave_records", "leave_balances",
                   "reminder_optins")  # a person's reminder choice: only under their binding (migration 0023)
OWNER_ONLY_TABLES = ("hrbot_secrets", "erased_people", "reminders_sent")  # whose days lapse: the reminder run's
# What the answer path needs, table by table; a table not listed here is read-only to the runtime role (the
# owner writes documents, sources, admins, records). docs/security.md explains each line; tests/test_security_sql.py
# checks that nothing more is granted.
RUNTIME_WRITES = {
    "processed_events": ("INSERT", "UPDATE", "DELETE"),  # claims and leases; bodies sealed (events.py)
    "feedback": ("INSERT", "UPDATE"),
    "escalations": ("INSERT",),
    "audit_log": ("INSERT",),                            # append-only: no UPDATE, no DELETE
    "questions": ("INSERT",),                            # and no reading of logged answers (below)
    "spent_seals": ("INSERT",),                          # spend a seal; never un-spend one (migration 0018)
}
# Job queue (procrastinate): deferring, and the in-process worker's own bookkeeping.
RUNTIME_QUEUE_PREFIX = "procrastinate_"
# Columns the runtime role may not read: a logged answer can hold the asker's balance.
HIDDEN_COLUMNS = {"questions": ("answer",)}
# colleague_names (the guard's digests) is read-only like every table not listed: a runtime role that could delete
# them would switch off the recognition of colleagues' names.
BINDING_KEY = "records"
SLACK_BINDING_KEY = "slack-binding"  # the subkey hrbot_bind_slack_user() checks (migration 0016)
_BLOCK = 64  # SHA-256's block size: the stored keys are the HMAC key XOR ipad / opad, one block each

READ_KEY = "SELECT inner_key, outer_key FROM hrbot_secrets WHERE name = %(name)s"
STORE_KEY = """
INSERT INTO hrbot_secrets (name, inner_key, outer_key) VALUES (%(name)s, %(inner)s, %(outer)s)
ON CONFLICT (name) DO UPDATE SET inner_key = excluded.inner_key, outer_key = excluded.outer_key, created_at = now()
WHERE (hrbot_secrets.inner_key, hrbot_secrets.outer_key) IS DISTINCT FROM (excluded.inner_key, excluded.outer_key)
RETURNING name"""
MIN_KEY_BYTES = 32


class BindingKey:
    """Signs bindings: the same HMAC-SHA256 as hrbot_asker() computes from the stored pads."""

    def __init__(self, inner: bytes, outer: bytes):
        self._inner, self._outer = bytes(inner), bytes(outer)

    def proof(self, employee_id: str, backend_pid: int, issued: int | None = None) -> str:
        issued = int(time.time()) if issued is None else issued
        message = f"{employee_id}:{backend_pid}:{issued}".encode()
        digest = hashlib.sha256(self._outer + hashlib.sha256(self._inner + message).digest()).hexdigest()
        return f"{issued}:{digest}"

    @classmethod
    def from_secret(cls, secret: str | bytes) -> "BindingKey":
        """The key an operator gives (HRBOT_BINDING_KEY): any string of at least 32 bytes, e.g. `openssl rand
        -hex 32`. Every replica and the migration step must be given the same one."""
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if len(raw.strip()) < MIN_KEY_BYTES:
            from knowledge.errors import ConfigurationError

            raise ConfigurationError(f"HRBOT_BINDING_KEY must be at least {MIN_KEY_BYTES} characters "
                                     "(for example the output of `openssl rand -hex 32`).")
        return cls(*pads(raw.strip()))

    @property
    def pads(self) -> tuple[bytes, bytes]:
        return self._inner, self._outer

    def subkey_pads(self, purpose: str) -> tuple[bytes, bytes]:
        """The HMAC pads of the subkey for `purpose`, for SQL that checks MACs of that purpose."""
        return pads(self._subkey(purpose))

    def _subkey(self, purpose: str) -> bytes:
        if ":" in purpose:
            raise ValueError("a MAC purpose has no colon")
        return self._hmac(f"hrbot-subkey:{purpose}".encode())

    def _hmac(self, message: bytes) -> bytes:
        return hashlib.sha256(self._outer + hashlib.sha256(self._inner + message).digest()).digest()

    def mac(self, purpose: str, data: bytes) -> bytes:
        """A MAC for one purpose (sealing stored events, hashing colleagues' names, ...): HMAC-SHA256 under a
        subkey derived from the binding key for that purpose, so no purpose's MAC is valid for another and none
        is a binding proof (those sign "id:pid:issued", two colons; subkeys are derived from "hrbot-subkey:NAME",
        whose purpose names have no colon)."""
        return hmac.new(self._subkey(purpose), data, hashlib.sha256).digest()


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


def ensure_binding_key(conn: psycopg.Connection, given: BindingKey | None = None) -> bool:
    """As the owner: store the operator's key (HRBOT_BINDING_KEY) when one is given, replacing another; else
    keep the stored one, or make a random one when there is none (a single process that is also the owner, such
    as the embedded default). The subkeys SQL checks are stored beside it. True when the key changed (a first
    start, a rotation): whatever was derived from the old key must be made again."""
    key = given or read_binding_key(conn) or BindingKey(*pads(secrets.token_bytes(32)))
    changed = False
    for name, (inner, outer) in ((BINDING_KEY, key.pads), (SLACK_BINDING_KEY, key.subkey_pads(SLACK_BINDING_KEY))):
        changed |= conn.execute(STORE_KEY, {"name": name, "inner": inner, "outer": outer}).fetchone() is not None
    return changed


def read_binding_key(conn: psycopg.Connection) -> BindingKey | None:
    row = conn.execute(READ_KEY, {"name": BINDING_KEY}).fetchone()
    return BindingKey(*row) if row else None


CHECK_KEY = """
SELECT set_config('hrbot.employee_id', %(probe)s, true), set_config('hrbot.binding', %(binding)s, true)"""


def key_matches(conn: psycopg.Connection, key: BindingKey) -> bool:
    """Whether the database checks bindings with this key: a binding for a made-up id, checked by hrbot_asker()
    as the records role. Works for the runtime role, which cannot read the key itself."""
    probe = "hrbot-key-check"
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(RECORDS_ROLE)))
        conn.execute(CHECK_KEY, {"probe": probe, "binding": key.proof(probe, conn.info.backend_pid)})
        return conn.execute("SELECT hrbot_asker()").fetchone()[0] == probe


def create_runtime_role(conn: psycopg.Connection, role: str = RUNTIME_ROLE) -> None:
    """The embedded server's runtime login role (its socket directory is private, so no password)."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(
            sql.Identifier(role)))


def runtime_privileges(table: str) -> tuple[str, ...]:
    """What the runtime role may do on one table: only what answering and Slack need (RUNTIME_WRITES), reading
    everything else that is not personal or secret."""
    if table in PERSONAL_TABLES or table in OWNER_ONLY_TABLES:
        return ()
    if table.startswith(RUNTIME_QUEUE_PREFIX):
        return ("SELECT", "INSERT", "UPDATE", "DELETE")
    return ("SELECT",) + RUNTIME_WRITES.get(table, ())


def grant_runtime(conn: psycopg.Connection, role: str) -> None:
    """What the runtime role may do, set again after every upgrade so new tables are covered (and rights an
    older version granted are taken back): runtime_privileges() per table, personal tables only through
    hrbot_records (bound by policy), nothing on the secrets, no logged answer; sequences and functions."""
    who = sql.Identifier(role)
    tables = [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").fetchall()]
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who))
    conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(who))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(RECORDS_ROLE), who))
    for table in tables:
        name = sql.Identifier(table)
        conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(name, who))
        rights = runtime_privileges(table)
        hidden = HIDDEN_COLUMNS.get(table)
        if hidden and "SELECT" in rights:
            columns = [c for (c,) in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum", [table]).fetchall() if c not in hidden]
            conn.execute(sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), name, who))
            rights = tuple(r for r in rights if r != "SELECT")
        if rights:
            conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(", ").join(map(sql.SQL, rights)), name, who))
    conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who))
    conn.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(who))
    try:
        with conn.transaction():
            found = reset_role_settings(conn, role)
        if found:
            log.warning("SECURITY: the runtime role %s carried session defaults of its own, now removed: %s",
                        role, ", ".join(found))
    except psycopg.errors.InsufficientPrivilege:
        log.warning("SECURITY: the runtime role %s carries session defaults of its own (%s) and this owner may not "
                    "remove them: ALTER ROLE %s RESET ALL as an administrator", role,
                    ", ".join(role_settings(conn, role)), role)


ROLE_SETTINGS = """
SELECT coalesce(d.datname, '(every database)'), s.setconfig FROM pg_db_role_setting s
LEFT JOIN pg_database d ON d.oid = s.setdatabase
WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)
  AND (s.setdatabase = 0 OR d.datname = current_database())"""


def role_settings(conn: psycopg.Connection, role: str) -> list[str]:
    """Defaults a role carries for its sessions (ALTER ROLE ... SET). The runtime role should carry none: any
    role may set its own, so one found here may have been planted with a leaked credential (read-only
    transactions, a 50 ms statement timeout: an outage that survives restarts)."""
    return [f"{setting} ({where})" for where, config in conn.execute(ROLE_SETTINGS, {"role": role}).fetchall()
            for setting in config or []]


def reset_role_settings(conn: psycopg.Connection, role: str) -> list[str]:
    """As the owner, at every upgrade: remove the runtime role's own session defaults. Returns what was found;
    raises psycopg.errors.InsufficientPrivilege when the owner may not reset them (not a superuser, no CREATEROLE
    or ADMIN on the role): `hrbot doctor` then names them."""
    found = role_settings(conn, role)
    if found:
        who = sql.Identifier(role)
        conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(who))
        conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} RESET ALL").format(
            who, sql.Identifier(conn.info.dbname)))
    return found


def role_facts(conn: psycopg.Connection) -> dict:
    """Who this connection is and what it can do, for `hrbot doctor` and the tests."""
    row = conn.execute("""
        SELECT current_user, r.rolsuper, r.rolbypassrls, r.rolcreaterole,
               (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace)
        FROM pg_roles r WHERE r.rolname = current_user""").fetchone()
    return {"role": row[0], "superuser": row[1], "bypass_rls": row[2], "create_role": row[3], "owns": row[4]}
