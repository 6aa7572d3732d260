"""Events handled exactly once, and none lost: a claim is a lease until the event's answer is delivered.

An event is claimed (with its body) when it arrives, so Slack's retries and duplicate deliveries are dropped
while it is being answered. It is marked answered only when its listener has finished. A claim whose lease runs
out unanswered (the process was killed, or stopped before it could finish) is taken again by any replica's
redelivery loop and answered there, up to MAX_ATTEMPTS times; a stopping process hands its unfinished claims
back at once instead of waiting for the lease. Nothing here knows Slack: the body is an opaque JSON document.

The runtime database role can write this table, so a body is trusted only with its seal: an HMAC over the event
id and the body, made with a subkey of the binding key, which that role cannot read (docs/security.md). A row
forged or altered with SQL (another user's DM, someone else's channel) fails the seal and is never answered.
"""
from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from knowledge.database import seals
from knowledge.database.connection import Database

log = logging.getLogger(__name__)

LEASE_SECONDS = 120  # longer than any answer takes; a killed process's events are answered again after it
MAX_ATTEMPTS = 3
# An event whose answer could not be delivered (Slack unreachable) after MAX_ATTEMPTS attempts is 'abandoned' with
# its sealed body kept and this flag in `placeholder`, until its asker has been told to ask again (tell_undelivered).
UNDELIVERED = "undelivered"
NOTICE_LEASE_SECONDS = 60  # one replica sends a given notice; a replica that dies sending it lets another retry

CLAIM = """
INSERT INTO processed_events (event_id, state, lease_until, claim_token, body, seal)
VALUES (%(event_id)s, 'answering', now() + make_interval(secs => %(lease)s), %(token)s, %(body)s::jsonb, %(seal)s)
ON CONFLICT DO NOTHING RETURNING event_id"""
ANSWERED = """
UPDATE processed_events SET state = %(state)s, lease_until = NULL, body = NULL, placeholder = NULL,
                            answered_at = now()
WHERE event_id = %(event_id)s AND claim_token = %(token)s AND state = 'answering'
RETURNING seal"""
HAND_BACK = """
UPDATE processed_events SET lease_until = now() - interval '1 second'
WHERE state = 'answering' AND (event_id, claim_token) IN (SELECT * FROM unnest(%(event_ids)s::text[], %(tokens)s::text[]))"""
NOTE_PLACEHOLDER = """
UPDATE processed_events SET placeholder = %(placeholder)s::jsonb
WHERE event_id = %(event_id)s AND claim_token = %(token)s AND state = 'answering'"""
TAKE_DUE = """
UPDATE processed_events p
SET lease_until = now() + make_interval(secs => %(lease)s), attempts = p.attempts + 1,
    claim_token = md5(random()::text || p.event_id || clock_timestamp()::text)
FROM (SELECT event_id FROM processed_events
      WHERE state = 'answering' AND lease_until < now() AND attempts < %(max_attempts)s AND body IS NOT NULL
      ORDER BY received_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) due
WHERE p.event_id = due.event_id
RETURNING p.event_id, p.claim_token, p.body, p.placeholder, p.attempts, p.seal"""
REFUSE_FORGED = """
UPDATE processed_events SET state = 'abandoned', body = NULL, lease_until = NULL
WHERE event_id = %(event_id)s AND claim_token = %(token)s"""
EXTEND = """
UPDATE processed_events SET lease_until = now() + make_interval(secs => %(lease)s)
WHERE event_id = %(event_id)s AND claim_token = %(token)s AND state = 'answering' RETURNING event_id"""
# The answer could not be delivered (Slack timed out, refused the connection or answered 5xx): not a bug, so not
# 'failed'. Another attempt follows at once (the lease ends now) while attempts remain; after the last one the event
# is abandoned with its sealed body kept and flagged, so that its asker is told once Slack answers again.
UNDELIVERABLE = """
UPDATE processed_events SET
    state = CASE WHEN attempts >= %(max_attempts)s THEN 'abandoned' ELSE 'answering' END,
    lease_until = CASE WHEN attempts >= %(max_attempts)s THEN NULL ELSE now() - interval '1 second' END,
    placeholder = CASE WHEN attempts >= %(max_attempts)s
                       THEN coalesce(placeholder, '{}'::jsonb) || jsonb_build_object(%(flag)s::text, true)
                       ELSE placeholder END
WHERE event_id = %(event_id)s AND claim_token = %(token)s AND state = 'answering'
RETURNING state"""
TAKE_UNDELIVERED = """
UPDATE processed_events p
SET lease_until = now() + make_interval(secs => %(lease)s),
    claim_token = md5(random()::text || p.event_id || clock_timestamp()::text)
FROM (SELECT event_id FROM processed_events
      WHERE state = 'abandoned' AND body IS NOT NULL AND (placeholder ->> %(flag)s)::boolean IS TRUE
            AND (lease_until IS NULL OR lease_until < now())
      ORDER BY received_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) due
WHERE p.event_id = due.event_id
RETURNING p.event_id, p.claim_token, p.body, p.seal"""
TOLD = """
UPDATE processed_events SET body = NULL, lease_until = NULL, placeholder = placeholder - %(flag)s::text
WHERE event_id = %(event_id)s AND claim_token = %(token)s AND state = 'abandoned'"""
NOT_TOLD_YET = """
UPDATE processed_events SET lease_until = NULL
WHERE event_id = %(event_id)s AND claim_token = %(token)s AND state = 'abandoned'"""
GIVE_UP = """
UPDATE processed_events SET state = 'abandoned', body = NULL, lease_until = NULL
WHERE state = 'answering' AND lease_until < now() AND attempts >= %(max_attempts)s
RETURNING event_id"""


@dataclass(frozen=True)
class Claim:
    event_id: str
    token: str
    placeholder: dict | None = None  # where the first attempt showed progress, for the answer to replace
    attempt: int = 1


@dataclass(frozen=True)
class Due:
    claim: Claim
    body: dict


SEAL_PURPOSE = "event-body"
TOO_LATE_SECONDS = 24 * 3600  # an event older than this is not answered again: the answer can no longer help


def canonical(body: dict) -> bytes:
    """The body as the seal covers it: the same bytes whether it comes from Slack or back from jsonb."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def seal(key, event_id: str, body: dict) -> bytes:
    return key.mac(SEAL_PURPOSE, event_id.encode() + b"\n" + canonical(body))


class EventLedger:
    """processed_events as a ledger of leases. Tracks this process's unfinished claims for hand_back()."""

    def __init__(self, db: Database, lease_seconds: float = LEASE_SECONDS):
        self.db = db
        self.lease_seconds = lease_seconds
        self._held: dict[str, Claim] = {}
        self._lock = threading.Lock()

    def claim(self, event_id: str, body: dict) -> Claim | None:
        """The claim on a new event, or None for a duplicate (answered, or being answered by someone).
        Runs before Slack's 3-second ack deadline, so it waits for a connection only briefly."""
        token = secrets.token_hex(16)
        sealed = seal(self.db.load_binding_key(timeout=0.5), event_id, body)
        with self.db.connection(timeout=0.5) as conn:
            first = conn.execute(CLAIM, {"event_id": event_id, "lease": self.lease_seconds, "token": token,
                                         "body": json.dumps(body), "seal": sealed}).fetchone() is not None
        if not first:
            return None
        claim = Claim(event_id, token)
        self._hold(claim)
        return claim

    def adopt(self, claim: Claim) -> None:
        """A claim taken by take_due() and now being answered here."""
        self._hold(claim)

    def _hold(self, claim: Claim) -> None:
        with self._lock:
            self._held[claim.event_id] = claim

    def release(self, claim: Claim) -> None:
        """No longer held here (a newer claim on the same event, taken by redelivery, stays held)."""
        with self._lock:
            if self._held.get(claim.event_id) == claim:
                del self._held[claim.event_id]

    def finished(self, claim: Claim, *, failed: bool = False) -> None:
        """The event's listener is done: it is answered (or, when the listener raised, given up: a retry could
        send a second answer after a first one got out)."""
        self.release(claim)
        with self.db.connection() as conn:
            row = conn.execute(ANSWERED, {"event_id": claim.event_id, "token": claim.token,
                                          "state": "failed" if failed else "answered"}).fetchone()
            if row and row[0] is not None:  # a copy of this body, put back with SQL, is never answered again
                seals.spend(conn, row[0], SEAL_PURPOSE)

    def extend(self, claim: Claim) -> bool:
        """Still answering (e.g. waiting for Slack to come back): the lease runs LEASE_SECONDS from now, so no
        other replica takes the event meanwhile. False when the claim is no longer this one's (its lease ran out
        and another attempt took it, or it was finished): then this attempt must not deliver anything."""
        with self.db.connection(timeout=2.0) as conn:
            return conn.execute(EXTEND, {"event_id": claim.event_id, "token": claim.token,
                                         "lease": self.lease_seconds}).fetchone() is not None

    def undeliverable(self, claim: Claim) -> str | None:
        """This attempt could not reach Slack. Returns 'answering' (handed back: redelivery tries again soon),
        'abandoned' (the attempts ran out: its asker is told once Slack is back) or None (not this claim's)."""
        self.release(claim)
        with self.db.connection() as conn:
            row = conn.execute(UNDELIVERABLE, {"event_id": claim.event_id, "token": claim.token,
                                               "max_attempts": MAX_ATTEMPTS, "flag": UNDELIVERED}).fetchone()
        return row[0] if row else None

    def take_undelivered(self, limit: int = 10) -> list[Due]:
        """Events abandoned because Slack was unreachable whose askers are not told yet, leased to this process
        for NOTICE_LEASE_SECONDS. Only bodies with a valid seal are returned: a notice goes where the sealed
        body says the question came from, never anywhere an unsealed column names."""
        with self.db.connection() as conn:
            rows = conn.execute(TAKE_UNDELIVERED, {"lease": NOTICE_LEASE_SECONDS, "flag": UNDELIVERED,
                                                   "limit": limit}).fetchall()
        due = []
        key = self.db.binding_key if rows else None
        for event_id, token, body, stored_seal in rows:
            if stored_seal is None or not hmac.compare_digest(bytes(stored_seal), seal(key, event_id, body)):
                log.error("SECURITY: the stored body of undelivered event %s has no valid seal; nobody is told",
                          event_id)
                with self.db.connection() as conn:
                    conn.execute(TOLD, {"event_id": event_id, "token": token, "flag": UNDELIVERED})
                continue
            due.append(Due(Claim(event_id, token), body))
        return due

    def told(self, claim: Claim, *, sent: bool) -> None:
        """The asker of an undelivered event was told (its body goes now), or could not be yet (tried later)."""
        with self.db.connection() as conn:
            conn.execute(TOLD if sent else NOT_TOLD_YET, {"event_id": claim.event_id, "token": claim.token,
                                                          "flag": UNDELIVERED})

    def note_placeholder(self, claim: Claim, placeholder: dict) -> None:
        with self.db.connection() as conn:
            conn.execute(NOTE_PLACEHOLDER, {"event_id": claim.event_id, "token": claim.token,
                                            "placeholder": json.dumps(placeholder)})

    def in_flight(self) -> list[Claim]:
        with self._lock:
            return list(self._held.values())

    def hand_back(self) -> int:
        """Stopping: end this process's unfinished leases now, so another replica (or the next start) answers
        them instead of waiting out the lease."""
        held = self.in_flight()
        if not held:
            return 0
        with self.db.connection() as conn:  # only leases this process still holds (another may have taken one)
            count = conn.execute(HAND_BACK, {"event_ids": [c.event_id for c in held],
                                             "tokens": [c.token for c in held]}).rowcount
        with self._lock:
            self._held.clear()
        return count

    def take_due(self, limit: int = 10) -> list[Due]:
        """Events whose lease ran out unanswered, now leased to this process; events past MAX_ATTEMPTS are
        given up (logged) rather than tried for ever."""
        with self.db.connection() as conn:
            rows = conn.execute(TAKE_DUE, {"lease": self.lease_seconds, "max_attempts": MAX_ATTEMPTS,
                                           "limit": limit}).fetchall()
            abandoned = [r[0] for r in conn.execute(GIVE_UP, {"max_attempts": MAX_ATTEMPTS}).fetchall()]
        for event_id in abandoned:
            log.error("event %s was not answered after %d attempts; giving up", event_id, MAX_ATTEMPTS)
        due = []
        key = self.db.binding_key
        for event_id, token, body, placeholder, attempts, stored_seal in rows:
            refusal = self._refusal(key, event_id, body, stored_seal)
            if refusal:
                log.error("event %s is not answered: %s", event_id, refusal)
                with self.db.connection() as conn:
                    conn.execute(REFUSE_FORGED, {"event_id": event_id, "token": token})
                continue
            due.append(Due(Claim(event_id, token, placeholder, attempts), body))
        return due

    def _refusal(self, key, event_id: str, body: dict, stored_seal) -> str | None:
        """Why a stored event must not be answered again, or None."""
        if stored_seal is None or not hmac.compare_digest(bytes(stored_seal), seal(key, event_id, body)):
            return ("SECURITY: its stored body has no valid seal (written or altered outside the bot, or sealed "
                    "with a rotated key)")
        with self.db.connection() as conn:
            if seals.is_spent(conn, stored_seal):
                return "SECURITY: it was answered already and its body was put back (a replay)"
        sent = body.get("event_time") if isinstance(body, dict) else None
        if isinstance(sent, (int, float)) and time.time() - sent > TOO_LATE_SECONDS:
            return "it is more than a day old: an answer now could not help"
        return None
