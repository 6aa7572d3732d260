"""The personal-figure guard: a chat model may phrase the asker's facts, never change their figures.

A sentence that addresses the asker (the language packs' `personal.addressed` words: "you", "Sie") and states a
number no fact, source or the question has is dropped, and the facts are added after the answer. Numbers are
compared as written with either decimal mark (a fact's "17,5" is a reply's "17.5"), and a full stop after a
figure ("am 29. März") does not end a sentence, so a date written that way cannot split a wrong figure away from
the "Sie" it is about.
"""
from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

NUMBER = re.compile(r"(?<![\w\[])\d+(?:[.,]\d+)?(?![\w\]])")
SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\d\.)\s+|\n")


def figures(text: str) -> set[str]:
    """The numbers of a text, each with "." as its decimal mark."""
    return {n.replace(",", ".") for n in NUMBER.findall(text)}


def guard_personal_numbers(text: str, allowed_text: str, facts: list[str], addressed: re.Pattern,
                           heading: str) -> str:
    """Drop sentences that state a number about the asker that appears in no fact or source; add the facts under
    `heading` (the asker's language's "From your records:")."""
    allowed = figures(allowed_text)
    kept, dropped = [], False
    for sentence in SENTENCE_END.split(text):
        if addressed.search(sentence) and figures(sentence) - allowed:
            log.warning("dropped a sentence with %d personal figures not in the records",
                        len(figures(sentence) - allowed))
            dropped = True
            continue
        kept.append(sentence)
    result = "\n".join(s for s in kept if s.strip()) if dropped else text
    if dropped and facts:
        result += f"\n\n*{heading}*\n" + "\n".join(f"- {f}" for f in facts)
    return result
