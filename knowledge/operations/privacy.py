"""People's data over time: retention of the question log, and one person's data exported or erased on request.
The audit log is kept (it records who read whose records, which is what it is for)."""
from __future__ import annotations

import re
from datetime import date, datetime

from knowledge.database import seals
from knowledge.database.connection import Database
from knowledge.database.audit import audit
from knowledge.people.erasures import remember as remember_erased

REDACTED = "(removed after the retention period: this answer held the asker's own records)"
REDACT_PERSONAL = """
UPDATE questions SET answer = %(redacted)s
WHERE personal AND answer <> %(redacted)s AND created_at < now() - make_interval(days => %(days)s)"""
DELETE_OLD = "DELETE FROM questions WHERE created_at < now() - make_interval(days => %(days)s)"  # cascades
DELETE_OLD_EVENTS = "DELETE FROM processed_events WHERE received_at < now() - make_interval(days => %(days)s)"
WHO = """
SELECT employee_id, slack_user_id, email FROM employees
WHERE employee_id = %(who)s OR slack_user_id = %(who)s OR lower(email) = lower(%(who)s)"""
THEIR_QUESTIONS = """
SELECT question_id, created_at, surface, question, answer, kind FROM questions
WHERE slack_user_id = ANY(%(slack)s) OR employee_id = ANY(%(employees)s) ORDER BY created_at"""
THEIR_FEEDBACK = """
SELECT question_id, helpful, comment, created_at FROM feedback WHERE slack_user_id = ANY(%(slack)s)
ORDER BY created_at"""
THEIR_RECORDS = {
    "employee": "SELECT * FROM employees WHERE employee_id = ANY(%(employees)s)",
    "entitlements": "SELECT * FROM leave_entitlements WHERE employee_id = ANY(%(employees)s) ORDER BY year",
    "leave": "SELECT * FROM leave_records WHERE employee_id = ANY(%(employees)s) ORDER BY start_date",
    "balances": "SELECT * FROM leave_balances WHERE employee_id = ANY(%(employees)s) ORDER BY year",
    "reminders_chosen": "SELECT * FROM reminder_optins WHERE employee_id = ANY(%(employees)s)",
    "reminders_sent": "SELECT * FROM reminders_sent WHERE employee_id = ANY(%(employees)s) ORDER BY claimed_at",
}
FORGET_QUESTIONS = """
DELETE FROM questions WHERE slack_user_id = ANY(%(slack)s) OR employee_id = ANY(%(employees)s)"""
FORGET_FEEDBACK = "DELETE FROM feedback WHERE slack_user_id = ANY(%(slack)s)"
FORGET_EVENTS = "DELETE FROM processed_events WHERE body -> 'event' ->> 'user' = ANY(%(slack)s)"  # unanswered DMs
FORGET_RECORDS = "DELETE FROM employees WHERE employee_id = ANY(%(employees)s)"  # cascades to their rows
AUDIT_MENTIONING = """
SELECT audit_id, actor, target, details FROM audit_log
WHERE EXISTS (SELECT 1 FROM unnest(%(ids)s::text[]) AS i
              WHERE strpos(lower(actor || ' ' || coalesce(target, '') || ' ' || details::text), i) > 0)"""
REWRITE_AUDIT = """
UPDATE audit_log SET actor = %(actor)s, target = %(target)s, details = %(details)s WHERE audit_id = %(audit_id)s"""


def prune(db: Database, personal_answer_days: int, retention_days: int) -> dict:
    """As the owner: the runtime role may neither read logged answers nor delete from the log."""
    with db.require_owner("apply the question log's retention").connection() as conn:
        redacted = conn.execute(REDACT_PERSONAL, {"redacted": REDACTED, "days": personal_answer_days}).rowcount
        deleted = conn.execute(DELETE_OLD, {"days": retention_days}).rowcount
        conn.execute(DELETE_OLD_EVENTS, {"days": min(retention_days, 2)})
        seals.prune(conn)
        if redacted or deleted:
            audit(conn, "retention", "prune", None, redacted=redacted, deleted=deleted)
    return {"answers_redacted": redacted, "questions_deleted": deleted}


def _identify(conn, who: str) -> tuple[list[str], list[str], list[str]]:
    """(employee ids, Slack user ids, emails) of the person `who` names."""
    rows = conn.execute(WHO, {"who": who}).fetchall()
    employees = sorted({r[0] for r in rows})
    slack = sorted({r[1] for r in rows if r[1]} | ({who} if who[:1] in "UW" and who.isalnum() else set()))
    emails = sorted({r[2].lower() for r in rows} | ({who.lower()} if "@" in who else set()))
    return employees, slack, emails


def export(db: Database, who: str, actor: str) -> dict:
    """Everything hrbot holds about one person (an employee id, Slack user id or work email); as the owner,
    the only role that reads every row of the personal tables."""
    with db.owner.connection() as conn:
        employees, slack, _ = _identify(conn, who)
        params = {"employees": employees, "slack": slack}
        cur = conn.cursor()
        data: dict = {"who": who, "employee_ids": employees, "slack_user_ids": slack}
        for name, sql in THEIR_RECORDS.items():
            cur.execute(sql, params)
            columns = [c.name for c in cur.description]
            data[name] = [dict(zip(columns, row)) for row in cur.fetchall()]
        data["questions"] = [dict(zip(("question_id", "at", "surface", "question", "answer", "kind"), r))
                             for r in conn.execute(THEIR_QUESTIONS, params).fetchall()]
        data["feedback"] = [dict(zip(("question_id", "helpful", "comment", "at"), r))
                            for r in conn.execute(THEIR_FEEDBACK, params).fetchall()]
        audit(conn, actor, "records_export", who, employees=employees, slack_user_ids=slack)
    return _plain(data)


def forget(db: Database, who: str, actor: str) -> dict:
    """Erase one person: their HR records, questions, answers and ratings, in one transaction. The audit log must
    keep what happened, so its entries about them keep a one-way hash in place of their ids, in the details too.
    Scheduled records sources remember the erasure (hashes of the ids) and do not bring the person back; a CSV
    import of them by hand does."""
    import hashlib

    from knowledge.people.colleagues import refresh_colleague_names

    key = db.binding_key
    with db.owner.connection() as conn:
        employees, slack, emails = _identify(conn, who)
        params = {"employees": employees, "slack": slack}
        feedback = conn.execute(FORGET_FEEDBACK, params).rowcount
        questions = conn.execute(FORGET_QUESTIONS, params).rowcount
        conn.execute(FORGET_EVENTS, params)
        removed = conn.execute(FORGET_RECORDS, params).rowcount
        if removed:  # their name must stop being recognised as a colleague's, with the records gone
            refresh_colleague_names(conn, key)
        ids = sorted({i.lower() for i in (*employees, *slack, *emails)})
        pseudonym = "erased:" + hashlib.sha256("|".join(sorted(ids) or [who]).encode()).hexdigest()[:16]
        pseudonymised = _pseudonymise_audit(conn, ids, pseudonym) if ids else 0
        for identifier in ids:
            remember_erased(conn, identifier)
        audit(conn, actor, "records_forget", pseudonym, questions=questions, feedback=feedback, employees=removed,
              audit_entries=pseudonymised)
    return {"questions": questions, "feedback": feedback, "employee_records": removed, "pseudonym": pseudonym,
            "audit_entries": pseudonymised}


def _pseudonymise_audit(conn, ids: list[str], pseudonym: str) -> int:
    """Put the pseudonym in place of the person's ids wherever an audit entry holds them: actor, target, and
    anywhere inside details (the id lists of an export, an operator's `as_user`, a key, a sentence), in any case.
    An id counts only as a whole token, so a colleague's E9010 is not taken for E901. Returns the entries changed."""
    import json

    from psycopg.types.json import Jsonb

    token = re.compile("|".join(rf"(?<![\w.@+-]){re.escape(i)}(?![\w@+-]|\.\w)"
                                for i in sorted(ids, key=len, reverse=True)), re.IGNORECASE)

    def scrub(value):
        if isinstance(value, str):
            return token.sub(pseudonym, value)
        if isinstance(value, dict):
            return {scrub(k): scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    changed = 0
    for audit_id, actor, target, details in conn.execute(AUDIT_MENTIONING, {"ids": ids}).fetchall():
        details = json.loads(details) if isinstance(details, str) else details
        new = {"actor": scrub(actor), "target": scrub(target), "details": scrub(details)}
        if (new["actor"], new["target"], new["details"]) != (actor, target, details):
            conn.execute(REWRITE_AUDIT, {**new, "details": Jsonb(new["details"]), "audit_id": audit_id})
            changed += 1
    return changed


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "is_finite"):  # Decimal
        return float(value)
    return value
