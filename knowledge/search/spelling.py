"""Misspelt key words in a question: "how mnay vacaton days" is embedded as typed, and a word the embedding model
has never seen ("vacaton") is split into pieces that mean little, so the vector side misses the passage the full
text side still finds (the search statement maps unknown words to known ones for BM25 only). The question is
searched with such a word replaced by its nearest word in the knowledge base's own vocabulary (the `lexicon` of
words of the stored passages), when that word is close enough to be the same one mistyped.

Nothing here is tuned on a question set: a word is corrected only when
- it is not in the knowledge base's vocabulary and not a whole word of the embedding model's vocabulary (a real
  word the documents do not use, "remote" beside the documents' "remove", is left alone);
- it is at least MIN_LENGTH letters long, and its nearest known word is within the edit distance Elasticsearch's
  AUTO fuzziness allows for its length (one edit up to five letters, two from six; a swap of two neighbouring
  letters is one edit), candidates found by trigram similarity (pg_trgm) and ranked by edit distance first, then
  by how many passages hold them.
The question shown to the asker stays as typed; only the search query is corrected."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable

MIN_LENGTH = 4  # shorter words are too often another real word one edit away ("pto", "sick" / "sack")
CANDIDATES = 8  # nearest known words by trigram similarity, ranked again by edit distance

# each unknown word's nearest known words by trigram similarity, with how many passages hold each (its lexeme's
# document frequency): of two words one edit away ("simpel": "simple", "simpler"), the commoner is meant
NEAREST_KNOWN = """
SELECT w.word, near.word,
       coalesce((SELECT max(s.chunks) FROM lexeme_stats s
                 WHERE s.lexeme = ANY(tsvector_to_array(to_tsvector('english', near.word)))), 0) AS passages
FROM unnest(%(words)s::text[]) AS w(word)
CROSS JOIN LATERAL (SELECT l.word FROM lexicon l WHERE l.word %% w.word
                    ORDER BY similarity(l.word, w.word) DESC, l.word LIMIT %(candidates)s) near
WHERE NOT EXISTS (SELECT 1 FROM lexicon l WHERE l.word = w.word)"""

WORD = re.compile(r"[A-Za-z]+")


def edit_distance(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of two neighbouring letters (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def allowed_edits(word: str) -> int:
    """Elasticsearch's AUTO fuzziness from MIN_LENGTH letters: one edit up to five letters, two from six."""
    if len(word) < MIN_LENGTH:
        return 0
    return 1 if len(word) <= 5 else 2


def nearest(word: str, known: Iterable[str], passages: Iterable[int] | None = None) -> str | None:
    """The known word within the allowed edits of `word`: fewest edits first, then the one in most passages
    (`passages`, aligned with `known`), then in the order given."""
    known = list(known)
    counts = list(passages) if passages is not None else [0] * len(known)
    limit = allowed_edits(word)
    scored = [(edit_distance(word, candidate), -count, order, candidate)
              for order, (candidate, count) in enumerate(zip(known, counts))]
    best = min((s for s in scored if 0 < s[0] <= limit), default=None)
    return best[-1] if best else None


def model_vocabulary(model_dir: Path) -> frozenset[str]:
    """The whole words (not word pieces) of a WordPiece model's vocab.txt: words the model knows as they are."""
    path = Path(model_dir) / "vocab.txt"
    if not path.exists():
        return frozenset()
    return frozenset(w for w in path.read_text(encoding="utf-8").split() if w.isalpha() and w.isascii())


class Speller:
    """correct(query) -> the query with each misspelt word replaced (one short query, and only when a word is
    unknown to the model's vocabulary)."""

    def __init__(self, db, dictionary: frozenset[str] = frozenset(), applies: Callable[[str], bool] | None = None):
        """dictionary: words known to be spelt right though the documents may not use them (the embedding
        model's vocabulary); applies(question): whether to correct it at all (questions in the documents'
        language: a word of another language is not a misspelling of an English one)."""
        self.db = db
        self.dictionary = dictionary
        self.applies = applies

    def suspects(self, query: str) -> list[str]:
        words = dict.fromkeys(w.lower() for w in WORD.findall(query))
        return [w for w in words if allowed_edits(w) and w not in self.dictionary][:32]

    def corrections(self, query: str) -> dict[str, str]:
        if self.applies is not None and not self.applies(query):
            return {}
        suspects = self.suspects(query)
        if not suspects:
            return {}
        with self.db.connection() as conn:
            rows = conn.execute(NEAREST_KNOWN, {"words": suspects, "candidates": CANDIDATES}).fetchall()
        near: dict[str, list[tuple[str, int]]] = {}
        for word, candidate, passages in rows:
            near.setdefault(word, []).append((candidate, passages))
        found = {word: nearest(word, [c for c, _ in found], [n for _, n in found]) for word, found in near.items()}
        return {word: fix for word, fix in found.items() if fix}

    def correct(self, query: str) -> str:
        fixes = self.corrections(query)
        if not fixes:
            return query
        return WORD.sub(lambda m: fixes.get(m.group(0).lower(), m.group(0)), query)
