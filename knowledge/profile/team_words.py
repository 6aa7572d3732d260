"""How a manager asks about their team, and how the team view answers, in one language: a language pack's [team]
table (knowledge/profile/languages/*.toml). No words in code: "my team", "meine Mitarbeiter" and the replies all
come from the pack, so a company's own pack can add them for its language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

TEAM_KEYS = {"phrases", "heading", "line", "free", "nobody_off", "no_reports", "private", "date_format",
             "approved", "pending"}
# The placeholders each text must carry, so a pack cannot drop the period or the person from a reply.
NEEDED = {"heading": ("{start}", "{end}"), "line": ("{name}", "{leave}", "{start}", "{end}", "{days}", "{status}"),
          "free": ("{name}",), "nobody_off": ("{start}", "{end}"), "no_reports": (), "private": (),
          "date_format": (), "approved": (), "pending": ()}


class TeamWordsError(ValueError):
    pass


@dataclass(frozen=True)
class TeamWords:
    """phrases: regular expressions, any of which makes a question one about the asker's team's leave ("who in my
    team is off"); the rest are the replies (str.format templates) and the words for a request's status."""
    phrases: tuple[re.Pattern, ...]
    heading: str
    line: str
    free: str
    nobody_off: str
    no_reports: str
    private: str
    date_format: str
    approved: str
    pending: str

    def asks(self, text: str) -> bool:
        return any(p.search(text) for p in self.phrases)

    def day(self, value: date) -> str:
        return value.strftime(self.date_format)

    def status(self, status: str) -> str:
        return self.approved if status == "approved" else self.pending


def parse_team_words(data) -> TeamWords:
    """The pack's [team] table; raises TeamWordsError naming the key that is wrong."""
    if not isinstance(data, dict):
        raise TeamWordsError("team must be a table")
    unknown = set(data) - TEAM_KEYS
    if unknown:
        raise TeamWordsError(f"team.{sorted(unknown)[0]} is not a known key ({', '.join(sorted(TEAM_KEYS))})")
    phrases = data.get("phrases")
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) for p in phrases):
        raise TeamWordsError("team.phrases must be a list of regular expressions")
    compiled = []
    for phrase in phrases:
        try:
            compiled.append(re.compile(phrase, re.IGNORECASE))
        except re.error as exc:
            raise TeamWordsError(f"team.phrases: {phrase!r} is not a regular expression ({exc})") from None
    texts = {}
    for key, needed in NEEDED.items():
        value = data.get(key)
        if not isinstance(value, str) or not value.strip() or any(n not in value for n in needed):
            wanted = f" containing {' and '.join(needed)}" if needed else ""
            raise TeamWordsError(f"team.{key} must be a text{wanted}")
        texts[key] = value
    return TeamWords(phrases=tuple(compiled), **texts)
