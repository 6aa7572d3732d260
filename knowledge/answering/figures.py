"""The personal-figure guard: a chat model may phrase the asker's facts, never change their figures.

A sentence that addresses the asker (the language packs' `personal.addressed` words: "you", "Sie") and states a
number no fact, source or the question has is dropped, and the facts are added after the answer. Numbers are
compared as written with either decimal mark (a fact's "17,5" is a reply's "17.5"), and a full stop after a
figure ("am 29. März") does not end a sentence, so a date written that way cannot split a wrong figure away from
the "Sie" it is about.

A figure from a policy passage is the policy's, not the asker's: "You get 25 days a year [1]" may quote it, with
the citation that says where it is from; "You have 17 days left." with no citation may not, even when some passage
has a 17 in it (a worked example): an uncited sentence about the asker keeps only the figures of their facts and
of their question (outside review of streaming, which found that sentence shown and kept).
"""
from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

NUMBER = re.compile(r"(?<![\w\[])\d+(?:[.,]\d+)?(?![\w\]])")
CITED = re.compile(r"\[\d{1,2}\]")
SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\d\.)\s+|\n")


def figures(text: str) -> set[str]:
    """The numbers of a text, each with "." as its decimal mark."""
    return {n.replace(",", ".") for n in NUMBER.findall(text)}


def guard_personal_numbers(text: str, allowed_text: str, facts: list[str], addressed: re.Pattern,
                           heading: str, question: str = "") -> str:
    """Drop sentences that state a number about the asker that appears in no fact or source (no fact or the
    question, when the sentence cites no source); add the facts under `heading` (the asker's language's "From
    your records:")."""
    allowed = figures(allowed_text)
    own = figures(" ".join([question, *facts]))
    kept, dropped = [], False
    for sentence in SENTENCE_END.split(text):
        unknown = figures(sentence) - (allowed if CITED.search(sentence) else own)
        if addressed.search(sentence) and unknown:
            log.warning("dropped a sentence with %d personal figures not in the records", len(unknown))
            dropped = True
            continue
        kept.append(sentence)
    result = "\n".join(s for s in kept if s.strip()) if dropped else text
    if dropped and facts:
        result += f"\n\n*{heading}*\n" + "\n".join(f"- {f}" for f in facts)
    return result
