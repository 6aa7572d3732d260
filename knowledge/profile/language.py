"""Language packs: how employees ask in a language (data in knowledge/profile/languages/*.toml, chosen by the
company profile). A pack says which little words mark the language, which words mean "about me", which name the
topics of a person's own records, and how to tell the asker that the sources are in another language.

No language is special in code: English is a pack like the others (and the default one).
"""
from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from knowledge.profile.date_words import DateWords, DateWordsError, parse_date_words
from knowledge.profile.team_words import TeamWords, TeamWordsError, parse_team_words

PACKS = Path(__file__).resolve().parent / "languages"
TOPICS = ("balance", "leave", "holidays", "profile")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _alternation(words, whole: bool = False) -> re.Pattern | None:
    """One pattern for the words: each matches at the start of a word ("holiday" matches "holidays"), or only
    as a whole word when `whole` ("i" must not match "is")."""
    words = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return None
    end = r"(?![\w'])" if whole else ""
    return re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words) + ")" + end,
                      re.IGNORECASE)


@dataclass(frozen=True)
class Language:
    code: str                  # ISO 639-1, e.g. "de"
    name: str                  # in the language itself ("Deutsch")
    words: frozenset[str]      # frequent little words that mark it
    personal: re.Pattern | None
    personal_phrases: tuple[re.Pattern, ...]
    topics: dict[str, re.Pattern]
    sources_in: str | None     # "The sources quoted are in {language}."
    names: dict[str, str]      # language code -> its name in this language
    records_as_of: str | None = None   # "Your records as of {when}."
    stale_source: str | None = None    # "{source} has not synced since {when}: ..."
    dates: DateWords | None = None     # how dates and periods are written (knowledge.profile.periods)
    planning: tuple[re.Pattern, ...] = ()  # how people ask to plan leave ("if I take ... off")
    cost: tuple[re.Pattern, ...] = ()  # how they ask what it costs ("how many days", "what will I have left")
    generic: frozenset[str] = frozenset()  # words of leave types' names that name none ("leave", "Urlaub")
    half: re.Pattern | None = None     # "a half day", "halben Tag": each day of the plan counts half
    vague: re.Pattern | None = None    # "some days", "ein paar Tage": which days in a month named is not said
    ask_dates: str | None = None       # the kind reply when a plan's period cannot be read
    version_from: str | None = None    # "This is {source} as in force from {day}." (a dated version answers)
    version_until: str | None = None   # "... in force until {day}, when a new version takes effect."
    team: TeamWords | None = None      # how a manager asks about their team, and the replies (team_words.py)
    # where another person stands in this language's questions: patterns whose group 1 is the word there ("hat
    # Mara noch", "wenn sie"), and the pronouns that are someone else (matched as written: "sie" is she,
    # "Sie" is you). The word is refused when it is such a pronoun or a colleague's first name (the digests).
    others: tuple[re.Pattern, ...] = ()
    other_pronouns: frozenset[str] = frozenset()
    addressed: re.Pattern | None = None  # words an answer addresses the asker with ("you", "Sie")
    facts: dict[str, str] = field(default_factory=dict)    # templates of the asker's facts (knowledge.profile.wording)
    display: dict = field(default_factory=dict)            # how dates and numbers are written in them

    def people_named(self, text: str) -> tuple[bool, set[str]]:
        """(a pronoun for someone else stands where a person does, the words standing there)."""
        found = {m.group(1) for p in self.others for m in p.finditer(text) if m.group(1)}
        return bool(found & self.other_pronouns), found - self.other_pronouns

    def plans(self, text: str) -> bool:
        """Does the text ask what a period of leave would cost ("if I take 22 December to 2 January off")?"""
        return any(p.search(text) for p in self.planning)

    def asks_cost(self, text: str) -> bool:
        return any(p.search(text) for p in self.cost)

    def asks_half(self, text: str) -> bool:
        return bool(self.half and self.half.search(text))

    def vague_about(self, text: str) -> bool:
        return bool(self.vague and self.vague.search(text))

    def is_personal(self, text: str) -> bool:
        return bool((self.personal and self.personal.search(text))
                    or any(p.search(text) for p in self.personal_phrases))

    def topics_of(self, text: str) -> set[str]:
        return {topic for topic, pattern in self.topics.items() if pattern.search(text)}

    def score(self, tokens: list[str]) -> int:
        return sum(1 for t in tokens if t in self.words)

    def note_sources_in(self, other: "Language | str") -> str | None:
        code = other.code if isinstance(other, Language) else other
        if not self.sources_in or code not in self.names:
            return None
        return self.sources_in.format(language=self.names[code])


class LanguagePackError(ValueError):
    pass


def parse_pack(code: str, data: dict) -> Language:
    """A pack from its TOML table; raises LanguagePackError naming the key that is wrong."""
    def texts(table: dict, key: str, where: str) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LanguagePackError(f"{where}{key} must be a list of texts")
        return value

    unknown = set(data) - {"name", "words", "personal", "topics", "say", "dates", "planning", "team", "others",
                           "facts", "display"}
    if unknown:
        raise LanguagePackError(f"unknown key {sorted(unknown)[0]!r}")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise LanguagePackError("name must be the language's name")
    personal = data.get("personal", {})
    topics = data.get("topics", {})
    say = data.get("say", {})
    for table, where in ((personal, "personal"), (topics, "topics"), (say, "say")):
        if not isinstance(table, dict):
            raise LanguagePackError(f"{where} must be a table")
    if set(topics) - set(TOPICS):
        raise LanguagePackError(f"topics.{sorted(set(topics) - set(TOPICS))[0]} is not one of {', '.join(TOPICS)}")
    phrases = _expressions(texts(personal, "phrases", "personal."), "personal.phrases")
    planning = data.get("planning", {})
    if not isinstance(planning, dict) or set(planning) - {"phrases", "cost", "generic", "half", "vague"}:
        raise LanguagePackError("planning must be a table with phrases and cost (regular expressions), generic, "
                                "half and vague (words)")
    try:
        dates = parse_date_words(data["dates"]) if "dates" in data else None
        team = parse_team_words(data["team"]) if "team" in data else None
    except (DateWordsError, TeamWordsError) as exc:
        raise LanguagePackError(str(exc)) from None
    names = say.get("names", {})
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise LanguagePackError("say.names must map language codes to names")
    sources_in = say.get("sources_in")
    if sources_in is not None and (not isinstance(sources_in, str) or "{language}" not in sources_in):
        raise LanguagePackError("say.sources_in must be a text containing {language}")
    templates = {}
    for key, needed in (("records_as_of", ("{when}",)), ("stale_source", ("{source}", "{when}")), ("ask_dates", ()),
                         ("version_from", ("{source}", "{day}")), ("version_until", ("{source}", "{day}"))):
        value = say.get(key)
        if value is not None and (not isinstance(value, str) or any(n not in value for n in needed)):
            raise LanguagePackError(f"say.{key} must be a text containing {' and '.join(needed)}")
        templates[key] = value
    compiled = {t: _alternation(texts(topics, t, "topics.")) for t in TOPICS}
    return Language(
        code=code, name=data["name"].strip(), words=frozenset(w.lower() for w in texts(data, "words", "")),
        personal=_alternation(texts(personal, "words", "personal."), whole=True), personal_phrases=tuple(phrases),
        topics={t: p for t, p in compiled.items() if p is not None}, sources_in=sources_in, names=dict(names),
        dates=dates, planning=tuple(_expressions(texts(planning, "phrases", "planning."), "planning.phrases")),
        cost=tuple(_expressions(texts(planning, "cost", "planning."), "planning.cost")), team=team,
        generic=frozenset(w.strip().lower() for w in texts(planning, "generic", "planning.")),
        half=_alternation(texts(planning, "half", "planning."), whole=True),
        vague=_alternation(texts(planning, "vague", "planning."), whole=True),
        **_others(data.get("others", {})),
        addressed=_alternation(texts(personal, "addressed", "personal."), whole=True),
        facts=_facts(code, data.get("facts", {})), display=_display(data.get("display", {})), **templates)


FALLBACK = "en"  # the pack whose [facts] templates every other pack's are checked against and falls back to
DISPLAY = {"day": ("{day}", "{month}", "{year}"), "day_month": ("{day}", "{month}"), "weekday": ("{weekday}", "{date}"),
           "moment": ("{date}", "{time}")}


def _facts(code: str, table) -> dict[str, str]:
    """The [facts] templates; in a pack other than English each must be one English has, with no field English
    does not fill (a template naming an unknown field would fail only when an answer is written)."""
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise LanguagePackError("facts must be a table of texts")
    if code == FALLBACK:
        return dict(table)
    english = shipped_pack(FALLBACK).facts
    for key, template in table.items():
        if key not in english:
            raise LanguagePackError(f"facts.{key} is not a template hrbot writes")
        try:
            extra = _fields(template) - _fields(english[key])
        except ValueError as exc:
            raise LanguagePackError(f"facts.{key}: {exc}") from None
        if extra:
            raise LanguagePackError(f"facts.{key} names {{{sorted(extra)[0]}}}, which is not one of "
                                    f"{', '.join(sorted('{' + f + '}' for f in _fields(english[key]))) or 'none'}")
    return dict(table)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _display(table) -> dict:
    """The [display] table: month and weekday names, the date templates and the decimal mark."""
    if not isinstance(table, dict) or set(table) - {"months", "weekdays", "decimal", *DISPLAY}:
        raise LanguagePackError(f"display has keys months, weekdays, decimal, {', '.join(DISPLAY)}")
    for key, count in (("months", 12), ("weekdays", 7)):
        value = table.get(key)
        if value is not None and (not isinstance(value, list) or len(value) != count
                                  or not all(isinstance(v, str) and v for v in value)):
            raise LanguagePackError(f"display.{key} must list {count} names")
    for key, needed in DISPLAY.items():
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or any(n not in value for n in needed)):
            raise LanguagePackError(f"display.{key} must be a text containing {' and '.join(needed)}")
    if table.get("decimal", ".") not in (".", ","):
        raise LanguagePackError('display.decimal must be "." or ","')
    return dict(table)


def _others(table) -> dict:
    """The [others] table: `subject` patterns (each with one group: the word where a person stands; compiled as
    written, so a pattern says itself where case matters) and `pronouns` (as written)."""
    if not isinstance(table, dict) or set(table) - {"subject", "pronouns"}:
        raise LanguagePackError("others must be a table with subject (regular expressions) and pronouns")
    for key in ("subject", "pronouns"):
        if not isinstance(table.get(key, []), list) or not all(isinstance(v, str) for v in table.get(key, [])):
            raise LanguagePackError(f"others.{key} must be a list of texts")
    compiled = []
    for expression in table.get("subject", []):
        try:
            pattern = re.compile(expression)
        except re.error as exc:
            raise LanguagePackError(f"others.subject: {expression!r} is not a regular expression ({exc})") from None
        if pattern.groups < 1:
            raise LanguagePackError(f"others.subject: {expression!r} needs a group around the person's word")
        compiled.append(pattern)
    return {"others": tuple(compiled), "other_pronouns": frozenset(table.get("pronouns", []))}


def _expressions(phrases: list[str], where: str) -> list[re.Pattern]:
    compiled = []
    for phrase in phrases:
        try:
            compiled.append(re.compile(phrase, re.IGNORECASE))
        except re.error as exc:
            raise LanguagePackError(f"{where}: {phrase!r} is not a regular expression ({exc})") from None
    return compiled


def shipped() -> list[str]:
    return sorted(p.stem for p in PACKS.glob("*.toml"))


@lru_cache(maxsize=None)
def shipped_pack(code: str) -> Language:
    path = PACKS / f"{code}.toml"
    if not path.is_file():
        raise LanguagePackError(f"no language pack {code!r} ships with hrbot (shipped: {', '.join(shipped())})")
    return parse_pack(code, tomllib.loads(path.read_text(encoding="utf-8")))


def detect(text: str, languages: tuple[Language, ...], default: Language | None = None) -> Language | None:
    """The language whose little words a text uses most (the first listed wins a tie); `default` when the text
    has none of any language's (a question of two nouns)."""
    tokens = [t.lower() for t in WORD.findall(text)]
    best, best_score = default, 0
    for language in languages:
        score = language.score(tokens)
        if score > best_score:
            best, best_score = language, score
    return best
