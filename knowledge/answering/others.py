"""Another person named in a language's own grammar ("Wie viele Urlaubstage hat Mara noch?", "wenn sie nächste
Woche Urlaub nimmt"): the patterns of answers.about_someone_else read English word order; each language pack's
[others] table says where a person stands in its questions. The word there is refused when it is a pronoun for
someone else in a question about leave, or a colleague's first name (a keyed digest, knowledge.people.colleagues:
yes or no, never who)."""
from __future__ import annotations

from typing import Iterable

from knowledge.people.colleagues import normalise
from knowledge.profile.language import Language

PERSONAL_TOPICS = {"balance", "leave"}


def named_in_language(question: str, languages: Iterable[Language], own_words: set[str], colleagues) -> bool:
    """colleagues: knowledge.people.colleagues.Colleagues, or None (no records: only pronouns count)."""
    candidates: set[str] = set()
    for language in languages:
        pronoun, words = language.people_named(question)
        if pronoun and language.topics_of(question) & PERSONAL_TOPICS:
            return True
        candidates |= {w for w in (normalise(x) for x in words) if w and w not in own_words}
    return bool(candidates) and colleagues is not None and colleagues.named((), (), candidates)
