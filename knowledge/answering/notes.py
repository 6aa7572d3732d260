"""Notes an answer carries after its text: the sources' language when it differs from the question's, and how
fresh the knowledge is (when the asker's records were imported; a cited source that has not synced on time).
Each note is in the asker's language (the language packs), English where a pack has none."""
from __future__ import annotations

import logging

from knowledge.answering.answers import Answer
from knowledge.profile.language import shipped_pack
from knowledge.profile.model import CompanyProfile
from knowledge.answering.freshness import when

log = logging.getLogger(__name__)


def note_source_language(answer: Answer, question: str, sources, profile: CompanyProfile) -> None:
    """Say so, in the asker's language, when the passages quoted are in another language than the question."""
    cited = {c.document_id for c in answer.citations}
    text = " ".join(d.page_content for d in sources if d.metadata.get("document_id") in cited)
    if not text:
        return
    asked_in = profile.language_of(question)
    written_in = profile.language_of(text)
    if written_in.code != asked_in.code:
        note = asked_in.note_sources_in(written_in)
        if note:
            answer.text += f"\n\n_{note}_"
            answer.source_language = written_in.code


def note_freshness(answer: Answer, question: str, freshness, profile: CompanyProfile) -> None:
    """An answer from the asker's records says when they were last brought in; one citing a document whose
    source has not synced within its schedule says so (issue 11)."""
    if freshness is None:
        return
    try:
        snapshot = freshness.snapshot()
    except Exception:  # freshness is a note, never a reason to fail an answer
        log.warning("could not read how fresh the knowledge is", exc_info=True)
        return
    language = profile.language_of(question)
    english = shipped_pack("en")
    notes = []
    if answer.facts and snapshot.records_synced_at is not None:
        template = language.records_as_of or english.records_as_of
        # the records' date in the asker's language, like the facts above it
        notes.append(template.format(when=profile.wording_of(question).moment(snapshot.records_synced_at)))
        answer.records_as_of = snapshot.records_synced_at
    if answer.facts:
        for name, last_ok in snapshot.stale_records:
            notes.append((language.stale_source or english.stale_source).format(source=name, when=when(last_ok)))
    for source in dict.fromkeys(c.source for c in answer.citations if c.source in snapshot.stale):
        name, last_ok = snapshot.stale[source]
        note = (language.stale_source or english.stale_source).format(source=name, when=when(last_ok))
        if note not in notes:
            notes.append(note)
    if notes:
        answer.text += "\n\n_" + " ".join(notes) + "_"
