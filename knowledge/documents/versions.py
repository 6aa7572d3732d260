"""Policy versions with effective dates: reading the date a version takes effect (an admin's `--effective`, a
line of a Slack upload's message, a Markdown or text file's front matter), and the SQL that lists and retires a
document's live versions. Which version answers is chosen in retrieval's one statement (knowledge/search)."""
from __future__ import annotations

import re
from datetime import date

from knowledge.errors import DocumentRejected

ISO_DAY = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
# "effective: 2027-04-01" (also effective_from, effective-date, effective date) on a line of its own
EFFECTIVE_LINE = re.compile(r"^\s*effective(?:[ _-]?(?:from|date))?\s*[:=]\s*(\S.*?)\s*$", re.I | re.M)
# a Slack upload's message: "effective 2027-04-01", "effective from 2027-04-01"
EFFECTIVE_WORDS = re.compile(r"\beffective(?:\s+from)?\s*:?\s+(\S+)", re.I)
FRONT_MATTER = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
FRONT_MATTER_TYPES = (".md", ".markdown", ".txt")
BAD_DATE = ("{value!r} is not a date I can read as the day the version takes effect: write it as YYYY-MM-DD "
            "(for example 2027-04-01).")


def parse_effective(value: str | date | None) -> date | None:
    """An effective date as an admin writes it (YYYY-MM-DD), or None for none. Raises DocumentRejected with a
    kind message for anything else (nothing is stored then)."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    found = ISO_DAY.fullmatch(text)
    try:
        if found is None:
            raise ValueError(text)
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        raise DocumentRejected(BAD_DATE.format(value=text[:40])) from None


def effective_in_message(text: str | None) -> date | None:
    """The effective date an admin wrote beside a file shared in Slack ("effective 2027-04-01"), None when the
    message names none; raises DocumentRejected when it names one that is not a date."""
    found = EFFECTIVE_WORDS.search(text or "")
    return parse_effective(found.group(1).strip(".,;")) if found else None


def effective_in_file(name: str, data: bytes) -> date | None:
    """The `effective:` line of a Markdown or text file's front matter (a block between two `---` lines at its
    start), None without one; raises DocumentRejected for a date it cannot read."""
    if not name.lower().endswith(FRONT_MATTER_TYPES):
        return None
    block = FRONT_MATTER.match(data[:4096])
    if block is None:
        return None
    found = EFFECTIVE_LINE.search(block.group(1).decode("utf-8", "replace"))
    return parse_effective(found.group(1).strip("'\"")) if found else None


def without_front_matter(name: str, data: bytes) -> bytes:
    """The file without the front matter that carried its effective date: the date is metadata, not policy
    text to quote. Other files are returned as they are."""
    if not name.lower().endswith(FRONT_MATTER_TYPES):
        return data
    block = FRONT_MATTER.match(data)
    if block is None or EFFECTIVE_LINE.search(block.group(1).decode("utf-8", "replace")) is None:
        return data
    return data[block.end():]


LIVE_VERSIONS = """
SELECT document_id, version, effective_from FROM documents
WHERE source = %(source)s AND status = 'active' AND (%(uploaded_by)s::text IS NULL OR uploaded_by = %(uploaded_by)s)
ORDER BY coalesce(effective_from, '-infinity'::date)"""


def live_versions(conn, source: str, uploaded_by: str | None = None) -> list[tuple[int, int, date | None]]:
    """(document_id, version, effective_from) of each live version of a document, the earliest date first; only
    those uploaded by `uploaded_by` when given (a source retires its own versions, never an admin's)."""
    return conn.execute(LIVE_VERSIONS, {"source": source, "uploaded_by": uploaded_by}).fetchall()
