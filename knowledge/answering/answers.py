"""Answers: the Answer object, the offline extractive answerer, and the checks every answer passes through."""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable

from langchain_core.documents import Document

from knowledge.people.colleagues import PARTICLES, name_variants, phrases
from knowledge.profile.wording import english
from knowledge.search.sentences import LIST_ITEM, in_context, passage_sentences  # noqa: F401 - callers' names
from knowledge.answering.citations import (CITATION, Citation, check_citations,  # noqa: F401 - callers' names
                                           citation_for, quoted_citation)

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SUPPORT_THRESHOLD = 0.40  # hybrid score below which the best passage is not about the question
# The English texts, from the English pack's [facts] like every language's (knowledge/profile/languages/en.toml)
OFFLINE_NOTE = english().say("offline_note")


@dataclass(frozen=True)
class Asker:
    """Who is asking: the verified Slack user id, and the work email from their Slack profile if known.
    email_lookup, if given, fetches that email only when no record carries the Slack id (an API call saved)."""
    slack_user_id: str | None
    email: str | None = None
    email_lookup: Callable[[], str | None] | None = field(default=None, compare=False, repr=False)


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    supported: bool = False
    personal: bool = False        # holds the asker's own data: show it to the asker only
    kind: str = "answer"          # answer | not_found | refused | clarify (dates to plan) | error
    notice: str | None = None     # e.g. no HR record is linked to this Slack user
    records_as_of: object | None = None  # when the records the facts come from were last brought in
    timings: dict = field(default_factory=dict)
    employee_id: str | None = None  # whose records were consulted (for the log; never shown to others)
    source_language: str | None = None  # set when the sources quoted are in another language than the question

    def as_json(self) -> dict:
        return {"answer": self.text,
                "citations": [{**{k: v for k, v in asdict(c).items() if k in (
                                   "n", "source", "page", "section", "document_id", "title", "version")},
                               "effective_from": c.effective_from and c.effective_from.isoformat(),
                               "effective_until": c.effective_until and c.effective_until.isoformat(),
                               "pages": [c.page, c.page_end or c.page] if c.page is not None else None}
                              for c in self.citations],
                "facts": self.facts, "supported": self.supported, "personal": self.personal, "kind": self.kind,
                "notice": self.notice, "source_language": self.source_language}


# --- Questions about someone else ---------------------------------------------------------------------------

# Capitalised words that are not people's names in any company: grammar, the calendar, policy and workplace words
# ("Annual Leave Policy", "Christmas Eve", "Client Services" are not people). The company's own (its name,
# locations and their aliases, products such as insurers) come from the company profile.
NOT_NAMES = frozenset("""
i i'm i've me my mine we our us you your he she they them their his her it its this that these those the a an and
or but if so also please thanks thank hi hello hey dear what what's whats who whom whose how how's when where why
which is are was were be been do does did has have had can could will would shall should may might must am any
anyone anybody someone somebody everyone everybody all every each some there here not no yes ok okay tell show
give list compare check find get let need want ask regarding about for from with in on at to of by per after
before during until since next last new year years month months week weeks day days today tomorrow yesterday
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december christmas easter eve boxing good bank whit whitsun pentecost ascension corpus
christi reformation unity labour labor thanksgiving independence ramadan eid diwali hanukkah
leave annual sick sickness pay paid unpaid holiday holidays vacation parental maternity paternity adoption shared
compassionate bereavement jury duty study sabbatical carers emergency dependants toil overtime time off remote
hybrid work working home office travel expenses expense benefits benefit pension dental health insurance medical
private policy policies handbook guide faq rules allowance entitlement balance bonus salary payroll notice
probation contract part full fixed term permanent flexible statutory company team department manager managers
staff employee employees hr eu slack people data science engineering finance sales client services leadership
operations marketing legal support training learning development wellbeing cycle scheme car gym eye test form
code mat kit
""".split())
# Capital first letters of the Latin alphabets (re has no \p{Lu}): "Élodie", "Łukasz", "Øyvind".
_UPPER = "".join(chr(c) for c in range(0x41, 0x250) if chr(c).isupper())
_NOT_A_NAME = "|".join(sorted((re.escape(w) for w in NOT_NAMES), key=len, reverse=True))
# A capitalised word that may be part of a name: not a word above, not an acronym ("HR", "PTO", "NYC").
CAP = rf"(?!(?i:{_NOT_A_NAME})(?![\w'’-]))(?![{_UPPER}]{{2,}}\b)[{_UPPER}][^\W\d_]*(?:['’-][^\W\d_]+)*"
# What joins a surname to a name; the articles der/den/des count only after van/von/de ("van der
# Berg"): alone they are articles in several languages ("Tag der Deutschen Einheit" is a holiday, not a person).
JOINING = (r"(?i:(?:van|von|de)(?:\s+(?:der|den|de|la|le|les|los|las))?|da|di|del|della|du|dos|das|le|la|bin|binti|"
           r"ibn|bint|al|el|ten|ter|zu|zum|zur)")
# A name of one to five capitalised words, particles between them: "Aiko", "Mary Jane Watson", "Sanne van der Berg"
NAME = rf"{CAP}(?:\s+(?:{JOINING}\s+)?{CAP}){{0,4}}"

OTHER_ROLE = re.compile(
    r"\b(my |our |the )?(manager|boss|colleague|co-?worker|teammate|team ?mate|team|report|direct report|"
    r"partner|wife|husband|employee|staff member|ceo|cto|cfo|director|lead|everyone|anyone|somebody|someone|"
    r"all employees|other people|others)('s|s')?\s+(annual |remaining |holiday |leave |sick |vacation )*"
    r"(leave|balance|holidays?|vacation|days off|sick|absences?|salary|pay|records?|entitlement|allowance|"
    r"email|address|hire date|details)\b", re.I)
ROLE_SUBJECT = re.compile(
    r"\b(has|have|did|does|do|is|was|will|can)\s+(my |our |the |a |any )?(manager|boss|colleagues?|co-?workers?|"
    r"teammates?|team ?mates?|team|reports?|direct reports?|employees?|staff|ceo|director|lead|others|"
    r"other people|everyone|anyone|someone|somebody)\s+(got|have|had|taken|take|took|booked|book|left|been|get|"
    r"earn|earned|use|used)\b(?!\s+to\b)", re.I)  # "does my manager have to approve ..." asks about the rules
# "Is my manager off next week?", "is my line manager on leave over Christmas?": whether someone is away is their
# records too.
ROLE_AWAY = re.compile(
    r"\b(is|are|was|were|will)\s+(my |our |the )?(line manager|manager|boss|supervisor|team ?lead|colleagues?|"
    r"co-?workers?|teammates?|team ?mates?|direct reports?|reports?)\s+(be\s+)?(off|on (leave|holiday|vacation|"
    r"annual leave|sick leave|parental leave)|away|out of (the )?office|absent|sick|in)\b", re.I)
COLLECTIVE = re.compile(r"(employees?|staff|everyone|anyone|others|other people)$", re.I)
ENTITLED = {"get", "earn", "have"}
DATA_REQUEST = re.compile(r"\b(how (much|many|long)|balance|left|remaining|taken|took|booked|record|email|address|"
                          r"show|list|tell me|what (did|does|is|are)|when (is|does|did)|salary|pay|details|days)\b",
                          re.I)
PERSON_DATA = re.compile(r"\b(leave|balance|holidays?|vacation|days? off|sick|absences?|salary|pay|records?|"
                         r"entitlement|allowance|email|address|hire date|details|booked|taken|left|remaining)\b", re.I)
PERSON_VERB = r"(?i:have|has|get|take|took|got|left|remaining|off|on|book|booked|been|earn|use|used)"
VERB_NAME = re.compile(rf"\b(?i:does|did|has|is|was|will|can|should)\s+({NAME})\s+{PERSON_VERB}\b")
POSSESSIVE = r"(?:['’]s|(?<=s)['’])"
POSSESSIVE_NAME = re.compile(rf"\b({NAME}){POSSESSIVE}\s+(?:\w+\s+){{0,2}}(?i:leave|balance|holidays?|vacation|"
                             r"salary|pay|records?|entitlement|allowance|absences?|sick|email|manager|details)\b")
FOR_NAME = re.compile(rf"\b(?i:for|of|about)\s+({NAME})\s*\??$")
# A person's name typed in lower case where a person stands ("how much leave does priya have left", "has she
# taken any"): one word in the subject slot of a question about someone's leave. Words that stand there in
# questions about the policy ("does it take", "does one get", "does leave carry over") are not people.
LOWER_SUBJECT = re.compile(rf"\b(?i:does|did|has|have|is|was|will|can|should)\s+([a-z][a-z'’-]{{1,30}})\s+"
                           rf"(?:{PERSON_VERB}|(?i:taken|had|requested|asked))\b")
NOT_A_SUBJECT = {"i", "it", "one", "this", "that", "there", "each", "every", "all", "any", "no", "nobody", "my",
                 "everyone", "everybody", "anyone", "anybody", "someone", "somebody", "who", "what", "which", "booked",
                 "unused", "annual", "sick", "parental", "maternity", "paternity", "overtime", "pension", "time"}
THIRD_PERSON = {"he", "she", "they", "him", "her", "them"}  # someone else, whatever the company's words list
# Anywhere in a question that asks for data: a name with a particle ("Sanne de Vries"), or three capitalised words
# or more that are no policy, calendar or company words ("Mary Jane Watson").
PARTICLE_NAME = re.compile(rf"\b({CAP}(?:\s+{CAP})*\s+{JOINING}\s+{CAP}(?:\s+{CAP})*)(?![\w'’-])")
LONG_NAME = re.compile(rf"\b({CAP}(?:\s+{CAP}){{2,4}})(?![\w'’-])")
# An HR system id such as E123 or HR10234. The same shape is a tax form (SA302), a standard (ISO9001) or a plan
# code, so the shape alone refuses only where a person stands: "employee E123", "id E123", "E123's leave", "does
# E123 have", "(leave) for E123". Anywhere else it is refused only if it is a colleague's id (the digests).
EMPLOYEE_ID = r"[A-Z]{1,3}\d{3,}"
ID_AS_PERSON = re.compile(
    rf"\b(?i:employee|staff|personnel|payroll|worker|colleague|user|id|number|no\.?)\s*(?i:id|number|no\.?)?"
    rf"\s*[:#]?\s*({EMPLOYEE_ID})\b|\b({EMPLOYEE_ID}){POSSESSIVE}|"
    rf"\b(?i:does|did|has|is|was|will|can|should)\s+({EMPLOYEE_ID})\s+{PERSON_VERB}\b")
ID_FOR = re.compile(rf"\b(?i:for|of|about)\s+({EMPLOYEE_ID})\s*\??$")
# What may be an id of any scheme, looked up in the digests: letters and digits mixed (A123, emp-17), or five digits
ID_TOKEN = re.compile(r"(?<![\w@.-])(?:(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[^\W_][\w-]{1,23}|\d{5,24})(?![\w@-])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")

# The one refusal, whatever made it: a colleague's name found in the records, a name-like phrase, a role, an id.
# The same text either way, so a refusal never tells whether someone works here.
REFUSAL = english().templates["refusal"]


def about_someone_else(question: str, own_names: set[str], own_ids: set[str],
                       not_names: frozenset[str] = frozenset(),
                       colleagues: Callable[[set[str], set[str]], bool] | None = None) -> bool:
    """True when the question asks for another person's records (names, ids, emails, Slack mentions, roles).

    own_names: the asker's name and its words; own_ids: their employee id, Slack id and emails; not_names: the
    company's own words (lower case) that look like names but are not people. colleagues(phrases, ids), if given,
    says whether any of the question's word runs (normalised, the asker's own name variants left out) is a
    colleague's name or any id-like token a colleague's id (knowledge.people.colleagues.Colleagues.named): it
    recognises names the patterns below cannot ("how much leave has sanne van der berg left"), and answers yes
    or no only. Names the patterns take for names are refused whether or not anyone has them, with the same
    refusal, so asking about a name does not tell whether it is a colleague's where the patterns see one."""
    own_words = {w.lower() for n in own_names for w in n.split()}
    own_phrases = {v for n in own_names for v in name_variants(n)}
    skip = NOT_NAMES | not_names
    asks_for_data = bool(DATA_REQUEST.search(question))

    def is_name(phrase: str) -> bool:
        words = [w.lower() for w in re.split(r"\s+", phrase) if w.lower() not in PARTICLES]
        return bool(words) and not any(w in skip for w in words) and not all(w in own_words for w in words)

    if ROLE_AWAY.search(question):
        return True
    subject = ROLE_SUBJECT.search(question)
    if subject and not (COLLECTIVE.match(subject.group(3)) and subject.group(4).lower() in ENTITLED):
        return True  # "has my manager taken...", "has anyone booked...": someone's records
    # "does everyone get 30 days?", "do employees earn extra days?": what the policy gives all, not anyone's records
    if asks_for_data and OTHER_ROLE.search(question):
        return True
    patterns = (VERB_NAME, POSSESSIVE_NAME, FOR_NAME, PARTICLE_NAME, LONG_NAME) if asks_for_data else (VERB_NAME,)
    if any(is_name(m.group(1)) for pattern in patterns for m in pattern.finditer(question)):
        return True
    if PERSON_DATA.search(question) and any(
            m.group(1).lower() in THIRD_PERSON or m.group(1).lower() not in NOT_A_SUBJECT | skip | own_words
            for m in LOWER_SUBJECT.finditer(question)):
        return True  # "does priya have left", "has she taken": a person, named in lower case or by a pronoun
    shaped = {i for m in ID_AS_PERSON.finditer(question) for i in m.groups() if i}
    if PERSON_DATA.search(question):
        shaped |= {m.group(1) for m in ID_FOR.finditer(question)}
    if {i.lower() for i in shaped} - {i.lower() for i in own_ids}:
        return True
    if {m.group(1) for m in SLACK_MENTION.finditer(question)} - own_ids:
        return True  # "<@U0BOB>": the bot strips its own mention and the asker's only
    emails = {m.group(0).lower() for m in EMAIL.finditer(question)}
    if emails - {i.lower() for i in own_ids}:
        return True
    if colleagues is None:
        return False
    text = SLACK_MENTION.sub(" ", question)
    tokens = {m.group(0) for m in ID_TOKEN.finditer(text)}
    return colleagues(phrases(text) - own_phrases, {t for t in tokens if t.lower() not in {i.lower() for i in own_ids}})


# --- The offline answerer ------------------------------------------------------------------------------------

WORD = re.compile(r"[a-zäöüß0-9]+", re.I)
STOP = set("a an the and or of to in on for at by with from is are was were be been do does did i me my you "
           "your we our it its this that what how when where which who can could should would will shall may "
           "if as any get got have has had much many there their they them so not no".split())


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    """The content words of a text, lower-cased and stemmed."""
    return {_stem(w) for w in WORD.findall(text) if w.lower() not in STOP}


PERSONAL_MAX_SENTENCES = 2
PERSONAL_MARGIN = 0.05  # with the asker's facts (chosen on our own sample questions, like SELECTION_MARGIN)
SELECTION_MARGIN = 0.15  # by meaning: quote only sentences this close to the best one (set on our own set)
LEXICAL_WEIGHT = 0.03    # by meaning: how much each shared rare word adds (set on our own set)
PREFERRED_BONUS = 0.5    # a sentence naming what the asker is (`prefer`) outranks any that does not


def is_heading(line: str) -> bool:
    """A short line with no full stop, no figure and no list marker ("Sick pay by country") names a topic; it
    answers nothing."""
    line = line.strip()
    return (len(line.split()) < 10 and not line.endswith((".", "!", "?", ":", ";", ")"))
            and not LIST_ITEM.search(line) and not re.search(r"\d", line))


def extractive_answer(question: str, sources: list[Document], facts: list[str], hr_contact: str,
                      max_sentences: int | None = None,
                      similarity: Callable[[list[tuple[object, list[str]]]], "np.ndarray"] | None = None,
                      margin: float | None = None, prefer: re.Pattern | None = None,
                      heading: str | None = None, said=None) -> tuple[str, list[Citation]]:
    """Quote the sentences of the top passages that answer the question, each with its citation.

    With `similarity` (each sentence's cosine with the question, knowledge.answering.selection, given each
    passage's stored sentences or None and the texts its sentences are judged on) sentences are
    chosen by meaning, so a question that shares no word with the rule (a trip of "a month" and a rule
    about "20 working days") or is asked in another language still gets it; shared rare words and the passage's rank
    only break near-ties, and sentences far below the best one are left out. Without it, by shared words.

    When the asker's facts answer the question, the quotes only support them: at most 2, within a narrower
    margin of the best (PERSONAL_MARGIN), so "how much leave do I have?" quotes the entitlement rule behind the
    figure and not its neighbours (pay for leave untaken on leaving).

    prefer: words naming the asker when the facts say a rule does not cover them (their employment type): a
    sentence with them is the one that explains why ("...but not contractors or agency workers"), while the
    sentences nearest the question state the rule for everyone else. said: the asker's language's wording
    (knowledge.profile.wording) for the headings and the note; English without it."""
    import math

    if max_sentences is None:
        max_sentences = PERSONAL_MAX_SENTENCES if facts else 3
    if margin is None:
        margin = PERSONAL_MARGIN if facts else SELECTION_MARGIN

    query = terms(question)
    rows = []
    groups = []  # per passage: its stored sentences (or None) and what each sentence's meaning is judged on
    for rank, doc in enumerate(sources, start=1):
        section = doc.metadata.get("section", "")
        section_terms = query & terms(section)
        stored = doc.metadata.get("sentences")
        sentences = stored.quotable(section) if stored is not None else passage_sentences(doc.page_content, section)
        for position, (sentence, _) in enumerate(sentences):
            rows.append((rank, position, sentence, query & terms(sentence), section_terms))
        groups.append((stored, [judged for _, judged in sentences]))
    # a word the question shares with every candidate sentence says little; a rare one ("crowns") says a lot
    df: dict[str, int] = {}
    for *_, shared, _ in rows:
        for term in shared:
            df[term] = df.get(term, 0) + 1
    meaning = similarity(groups) if similarity is not None and rows else None
    candidates = []
    for i, (rank, position, sentence, shared, section_terms) in enumerate(rows):
        weight = sum(math.log(1 + len(rows) / df[t]) for t in shared) + 0.3 * len(section_terms)
        words = len(sentence.split())
        if meaning is not None:
            if words < 4 or is_heading(sentence):
                continue  # headings and fragments answer nothing
            score = (float(meaning[i]) + LEXICAL_WEIGHT * weight - 0.015 * (rank - 1)
                     - (0.08 if words > 60 else 0) - (0.1 if sentence.rstrip().endswith(":") else 0))
        else:
            if not shared and not section_terms and not (prefer is not None and prefer.search(sentence)):
                continue
            score = (2 * weight + (1.0 if rank == 1 else 0) + (0.3 if position == 0 else 0) - 0.3 * rank
                     - (2.0 if words > 60 else 0) - (1.0 if words < 4 else 0))
        if prefer is not None and prefer.search(sentence):
            score += PREFERRED_BONUS if meaning is not None else 10 * PREFERRED_BONUS
        candidates.append((score, rank, position, sentence))
    chosen = sorted(candidates, key=lambda c: -c[0])[:max_sentences]
    if meaning is not None and chosen:
        chosen = [c for c in chosen if c[0] >= chosen[0][0] - margin]
    chosen.sort(key=lambda c: (c[1], c[2]))
    lines = []
    if facts:
        lines.append(f"*{heading or english().say('heading')}*")  # the facts' heading, in the asker's language
        lines += [f"- {f}" for f in facts]
        lines.append("")
    shown: dict[int, int] = {}  # passage rank -> citation number, 1, 2, ... in the order quoted
    for _, rank, _, _ in chosen:
        shown.setdefault(rank, len(shown) + 1)
    if chosen:
        said = said or english()
        lines.append(f"*{said.say('policy_heading')}*")
        lines += [f"> {sentence} [{shown[rank]}]" for _, rank, _, sentence in chosen]
        lines.append("")
        lines.append(said.say("offline_note"))
    return "\n".join(lines).strip(), [quoted_citation(n, sources[rank - 1], [c[3] for c in chosen if c[1] == rank])
                                      for rank, n in shown.items()]


def not_found_text(hr_contact: str) -> str:
    return english().say("not_found", hr_contact=hr_contact)
