"""Chunking respects headings and sentences and knows which pages a chunk covers."""
from knowledge.documents.chunking import MAX_WORDS, chunk_blocks
from knowledge.documents.loaders import Block


def sentences(n: int, word: str = "leave") -> str:
    return " ".join(f"Sentence {i} is about {word} rules and has some more words in it." for i in range(n))


def test_sections_are_never_mixed_in_one_chunk():
    blocks = [Block("Annual leave is 25 days.", None, ("Leave",)),
              Block("Sick pay lasts ten days.", None, ("Sickness",))]
    chunks = chunk_blocks(blocks)
    assert [(c.section, c.text) for c in chunks] == [
        ("Leave", "Annual leave is 25 days."), ("Sickness", "Sick pay lasts ten days.")]
    assert [c.ordinal for c in chunks] == [0, 1]


def test_long_sections_split_at_sentence_ends_within_the_size_limit():
    blocks = [Block(sentences(60), None, ("Policy", "Details"))]
    chunks = chunk_blocks(blocks)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk.text.split()) <= MAX_WORDS
        assert chunk.text.startswith("Sentence") and chunk.text.endswith("in it.")
        assert chunk.section == "Policy > Details"
    # every sentence survives
    joined = " ".join(c.text for c in chunks)
    assert all(f"Sentence {i} is" in joined for i in range(60))


def test_a_paragraph_across_a_page_break_knows_both_pages():
    blocks = [Block("Intro sentence here. " * 3 + "The carry-over limit is five days and unused days", 4, ("Carry",)),
              Block("lapse on 31 March of the following year unless your manager agrees otherwise in writing, "
                    "which must be recorded in Fernhill People before the deadline passes for the year.", 5,
                    ("Carry",))]
    [chunk] = chunk_blocks(blocks)
    assert (chunk.page_start, chunk.page_end) == (4, 5)
    assert chunk.page == 5  # most of the words are on page 5
    assert "unused days lapse on 31 March" in chunk.text


def test_a_small_tail_joins_the_previous_chunk():
    blocks = [Block(sentences(10), 1, ("A",)), Block("Short tail.", 1, ("A",))]
    chunks = chunk_blocks(blocks)
    assert chunks[-1].text.endswith("Short tail.")
    assert len(chunks[-1].text.split()) > 10
