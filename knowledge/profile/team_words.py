"""How a manager asks about their team, and how the team view answers, in one language: a language pack's [team]
table (knowledge/profile/languages/*.toml). No words in code: "my team", "meine Mitarbeiter" and the replies all
come from the pack, so a company's own pack can add them for its language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

TEAM_KEYS = {"phrases", "heading", "line", "free", "nobody_off", "no_reports", "private", "date_format",
             "approved", "pending", "off", "line_one_day", "own", "others"}
# The placeholders each text must carry, so a pack cannot drop the period or the person from a reply.
NEEDED = {"heading": ("{start}", "{end}"), "line": ("{name}", "{leave}", "{start}", "{end}", "{days}", "{status}"),
          "free": ("{name}",), "nobody_off": ("{start}", "{end}"), "no_reports": (), "private": (),
          "date_format": (), "approved": (), "pending": (), "off": ()}
OPTIONAL = {"line_one_day": ("{name}", "{leave}", "{start}", "{end}", "{status}")}  # default: `line`


class TeamWordsError(ValueError):
    pass


@dataclass(frozen=True)
class TeamWords:
    """phrases: regular expressions, any of which makes a question one about the asker's team's leave ("who in my
    team is off"); the rest are the replies (str.format templates) and the words for a request's status. off: the
    word for a leave type the profile does not name to managers (sick leave is health data). own: what in a team
    question names the asker's own team ("my team"), taken out before the question is checked for anyone else;
    others: a question about someone else's team ("my manager's team"), refused."""
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
    off: str
    line_one_day: str | None = None
    own: tuple[re.Pattern, ...] = ()
    others: tuple[re.Pattern, ...] = ()

    def asks(self, text: str) -> bool:
        return any(p.search(text) for p in self.phrases)

    def without_own_team(self, text: str) -> str:
        """The question with the words naming the asker's own team taken out (the phrases where `own` is unset)."""
        for pattern in self.own or self.phrases:
            text = pattern.sub(" ", text)
        return text

    def asks_about_others_team(self, text: str) -> bool:
        return any(p.search(text) for p in self.others)

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
    phrases = _expressions(data, "phrases", required=True)
    texts = {}
    for key, needed in (*NEEDED.items(), *((k, n) for k, n in OPTIONAL.items() if k in data)):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip() or any(n not in value for n in needed):
            wanted = f" containing {' and '.join(needed)}" if needed else ""
            raise TeamWordsError(f"team.{key} must be a text{wanted}")
        texts[key] = value
    return TeamWords(phrases=phrases, own=_expressions(data, "own"),
                     others=_expressions(data, "others"), **texts)


def _expressions(data: dict, key: str, required: bool = False) -> tuple[re.Pattern, ...]:
    phrases = data.get(key, None if required else [])
    if not isinstance(phrases, list) or (required and not phrases) or not all(isinstance(p, str) for p in phrases):
        raise TeamWordsError(f"team.{key} must be a list of regular expressions")
    compiled = []
    for phrase in phrases:
        try:
            compiled.append(re.compile(phrase, re.IGNORECASE))
        except re.error as exc:
            raise TeamWordsError(f"team.{key}: {phrase!r} is not a regular expression ({exc})") from None
    return tuple(compiled)
