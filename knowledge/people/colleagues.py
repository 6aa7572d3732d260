"""Colleagues' names and employee ids as keyed digests (table colleague_names, migration 0017): what lets the
"someone else" guard recognise a colleague named in a question, any length and any particles ("Sanne van der
Berg", "Mary Jane Watson"), although the runtime role cannot read other employees' rows.

Only digests are stored: HMAC-SHA256 under subkeys of the binding key (BindingKey.mac), which the runtime role
cannot read. So the table answers "is this phrase a colleague's name?" only for whoever holds the key (the running
application, which asks it once per question and says nothing but the same refusal either way); a leaked runtime
credential sees 32-byte digests and cannot test a guessed name against them.

The owner writes the table, whole, in the transaction that writes the records (refresh_colleague_names), so it
never names someone the records no longer hold. After a binding key rotation every digest changes: call
refresh_colleague_names again with the new key."""
from __future__ import annotations

import re
import unicodedata
from itertools import combinations
from typing import TYPE_CHECKING, Iterable

import psycopg

if TYPE_CHECKING:
    from knowledge.database.connection import Database
    from knowledge.database.roles import BindingKey

NAME_PURPOSE = "colleague-name"
# A first name or a surname alone: looked up only for the word where a language pack's patterns see a person ("hat
# Mara noch", "das Team von Herrn Quist"), never for every word of a question (it would match half of them and
# tell nothing)
FIRST_NAME_PURPOSE = "colleague-first-name"
ID_PURPOSE = "colleague-id"
# Words that join a surname to the name ("Sanne de Vries", "Ana dos Santos", "Omar bin Said"): a surname is
# referred to with or without them. "do" and "y" are left out: in a question they are far more often English.
PARTICLES = frozenset("de van der den von da di del della dello dei des du dos das le la les lo bin binti ibn "
                      "bint al el ten ter zu zum zur".split())
MAX_WORDS = 5  # the longest phrase of a question looked up (and of a name, beyond the full name itself)
MAX_NAME_WORDS = 6  # name words combined into shorter forms; longer names are also stored in full

POSSESSIVE = re.compile(r"(?<=\w)['’`]s\b|(?<=s)['’`](?!\w)")
APOSTROPHE = re.compile(r"['’`]")
WORDS = re.compile(r"[^\W_]+")

DELETE_ALL = "DELETE FROM colleague_names"
STAGE_DIGESTS = "CREATE TEMP TABLE colleague_digests (digest bytea NOT NULL)"
COPY_STAGED = "COPY colleague_digests (digest) FROM STDIN"
FROM_STAGED = "INSERT INTO colleague_names (digest) SELECT DISTINCT digest FROM colleague_digests ORDER BY digest"
DROP_STAGED = "DROP TABLE colleague_digests"
BATCH = 2000
EMPLOYEES = "SELECT employee_id, name FROM employees"
ANY_OF = "SELECT EXISTS (SELECT 1 FROM colleague_names WHERE digest = ANY(%(digests)s))"


def normalise(text: str) -> str:
    """One spelling for a name however it is typed: no possessive ("Vries's"), no accents ("José" = "jose"),
    case folded ("Straße" = "strasse"), apostrophes joined ("O'Brien" = "obrien"), any other punctuation a space
    ("Jean-Luc" = "jean luc"), single spaces."""
    text = POSSESSIVE.sub("", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(WORDS.findall(APOSTROPHE.sub("", text.casefold())))


def normalise_id(employee_id: str) -> str:
    return employee_id.strip().casefold()


def name_variants(name: str) -> set[str]:
    """The ways a question plausibly refers to a person, normalised, two words or more (one word alone, a first
    name, is the heuristics' job: as a digest it would match half the questions' words and tell nothing).

    The full name; any two or more of its name words in order ("sanne vries", "mary watson", "maria garcia" of
    "María José García López", "mary jane"); the same with the particles written before a kept word ("sanne de
    vries", "sanne van der berg"); and a surname with its particles alone ("de vries", "van der berg")."""
    words = normalise(name).split()
    if len(words) < 2:
        return set()
    variants = {" ".join(words)}
    # each name word with the particles written just before it
    parts: list[tuple[str, tuple[str, ...]]] = []
    pending: list[str] = []
    for i, word in enumerate(words):
        if i > 0 and word in PARTICLES:
            pending.append(word)
            continue
        parts.append((word, tuple(pending)))
        pending = []
    parts = parts[:MAX_NAME_WORDS]
    for size in range(2, len(parts) + 1):
        for chosen in combinations(parts, size):
            plain = [w for w, _ in chosen]
            with_particles = [w for i, (word, particles) in enumerate(chosen)
                              for w in ((*particles, word) if i > 0 else (word,))]
            variants.add(" ".join(plain))
            variants.add(" ".join(with_particles))
    for word, particles in parts[1:]:
        if particles:
            variants.add(" ".join((*particles, word)))
    return variants


def phrases(text: str, max_words: int = MAX_WORDS) -> set[str]:
    """Every run of 2..max_words consecutive words of a question, normalised: the candidates for a name."""
    words = normalise(text).split()
    return {" ".join(words[i:i + n]) for n in range(2, max_words + 1) for i in range(len(words) - n + 1)}


def refresh_colleague_names(conn: psycopg.Connection, key: "BindingKey") -> int:
    """Rewrite colleague_names from the employees table (as the owner, who reads every row): the digests of each
    employee's name variants and id. Call it in the transaction that changed the employees (an import, an
    erasure), so the table and the records commit together, and after a binding key rotation. Returns the number
    of digests stored. The employees are read and their digests copied a batch at a time (a records source of
    100,000 people), and PostgreSQL sorts out the repeats."""
    with conn.transaction():  # a savepoint inside the caller's transaction; a transaction of its own otherwise
        conn.execute(STAGE_DIGESTS)
        with conn.cursor(name="colleagues") as people:
            people.execute(EMPLOYEES)
            while batch := people.fetchmany(BATCH):
                digests = set()
                for employee_id, name in batch:
                    digests |= {key.mac(NAME_PURPOSE, v.encode()) for v in name_variants(name or "")}
                    words = normalise(name or "").split()
                    digests |= {key.mac(FIRST_NAME_PURPOSE, w.encode()) for w in {*words[:1], *words[-1:]}}
                    digests.add(key.mac(ID_PURPOSE, normalise_id(employee_id).encode()))
                with conn.cursor() as cur, cur.copy(COPY_STAGED) as copy:
                    for digest in digests:
                        copy.write_row((digest,))
        conn.execute(DELETE_ALL)
        # sorted: the rows' order says nothing about whose they are
        stored = conn.execute(FROM_STAGED).rowcount
        conn.execute(DROP_STAGED)
    return stored


class Colleagues:
    """The runtime side: is any of these phrases a colleague's name, or any of these tokens a colleague's id?
    One query for all of them, answered yes or no, never which."""

    def __init__(self, db: "Database"):
        self.db = db

    def named(self, names: Iterable[str], ids: Iterable[str] = (), first_names: Iterable[str] = ()) -> bool:
        """names: normalised phrases (phrases()); ids: id-like tokens as written; first_names: single words where a
        person stands in the question (normalised)."""
        key = self.db.binding_key
        digests = ([key.mac(NAME_PURPOSE, n.encode()) for n in set(names)]
                   + [key.mac(ID_PURPOSE, normalise_id(i).encode()) for i in set(ids)]
                   + [key.mac(FIRST_NAME_PURPOSE, w.encode()) for w in set(first_names)])
        if not digests:
            return False
        with self.db.connection() as conn:
            return bool(conn.execute(ANY_OF, {"digests": digests}).fetchone()[0])
