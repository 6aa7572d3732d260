"""Misspelt key words (issue 27): a word the knowledge base does not know is searched for as the knowledge base
spells it, when it is one or two edits from a known word; a real word and a question in another language are
left as typed."""
from knowledge.search.spelling import allowed_edits, edit_distance, nearest

POLICY = """# Leave

## Vacation

Vacation requests are made in the people system two weeks ahead. Unused vacation days carry over to March.
Booking is simple: one form.

## Equipment

Remove company data from a personal device before you sell it. A simpler form is on its way.

## Sabbatical

After five years of service you may take a sabbatical of up to three months. Applying is simple.
"""


def test_edits_count_a_swap_of_neighbouring_letters_once_and_the_length_sets_how_many_are_allowed():
    assert edit_distance("mnay", "many") == 1 and edit_distance("vacaton", "vacation") == 1
    assert edit_distance("reimbursment", "reimbursement") == 1 and edit_distance("abc", "xyz") == 3
    assert [allowed_edits(w) for w in ("pto", "sick", "leave", "salary", "reimbursment")] == [0, 1, 1, 2, 2]
    assert nearest("vacaton", ["vocation", "vacation"]) == "vacation"  # fewer edits wins over trigram order
    assert nearest("leaev", ["leave", "league"]) == "leave"
    assert nearest("stay", ["study"]) is None  # two edits: too many for four letters
    assert nearest("simpel", ["simpler", "simple"], [2, 40]) == "simple"  # one edit each: the commoner word


def test_a_misspelt_word_is_searched_as_the_knowledge_base_spells_it(runtime, tmp_path):
    (tmp_path / "leave.md").write_text(POLICY)
    runtime.ingestor.ingest_paths([tmp_path])
    searcher = runtime.searcher
    assert searcher.corrected("how do I request vacaton?") == "how do I request vacation?"
    assert searcher.corrected("Can I take a SABATICAL after 5 yrs") == "Can I take a sabbatical after 5 yrs"
    assert searcher.corrected("is booking simpel") == "is booking simple"  # not "simpler": in fewer passages
    # the search itself uses the corrected words: the same passages with the same scores as spelt right
    typed = [(h.chunk_id, round(h.score, 5)) for h in searcher.search("how do I request vacaton?", 3)]
    assert typed == [(h.chunk_id, round(h.score, 5)) for h in searcher.search("how do I request vacation?", 3)]


def test_real_words_and_other_languages_are_left_as_typed(runtime, tmp_path):
    (tmp_path / "leave.md").write_text(POLICY)
    runtime.ingestor.ingest_paths([tmp_path])
    searcher = runtime.searcher
    # "remote" is one edit from the policy's "remove", but it is a word the embedding model knows as it is
    assert searcher.corrected("can I work remote from abroad") == "can I work remote from abroad"
    # a German question: its words are not misspellings of the English policy's ("Sabbatikal" is one edit away)
    german = "Wie lange darf ich nach fünf Jahren ein Sabbatikal nehmen?"
    assert runtime.profile.language_of(german) != runtime.profile.languages[0]
    assert searcher.corrected(german) == german


def test_the_question_shown_stays_as_typed_while_the_search_is_corrected(runtime, tmp_path):
    (tmp_path / "leave.md").write_text(POLICY)
    runtime.ingestor.ingest_paths([tmp_path])
    chain = runtime.answers
    x = {"standalone": "do unused vacaton days carry over?", "country": None}
    assert chain._search_query(x) == "do unused vacation days carry over?"
    assert x["standalone"] == "do unused vacaton days carry over?"
