"""Chunking respects headings and sentences and knows which pages a chunk covers."""
from knowledge.documents.chunking import MAX_WORDS, chunk_blocks
from knowledge.documents.blocks import Block


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


NAMES = "Grade, Budget, Approver"


def table(rows: list[str], page: int | None = None, section: tuple[str, ...] = ("Training",)) -> Block:
    return Block("\n".join([NAMES] + rows), page, section, table=True, header=NAMES)


def grade_rows(n: int) -> list[str]:  # ten words each
    return [f"Grade: G{i} | Budget: {100 * i} a year | Approver: manager" for i in range(n)]


def test_a_table_that_fits_in_a_chunk_is_never_split_and_keeps_its_names():
    prose = Block(sentences(10, "training"), 1, ("Training",))  # 130 words: the table (63) does not fit after it
    chunks = chunk_blocks([prose, table(grade_rows(6), 1), Block(sentences(10, "travel"), 1, ("Training",))])
    assert [c.text for c in chunks] == [sentences(10, "training"), "\n".join([NAMES] + grade_rows(6)),
                                        sentences(10, "travel")]  # no sentence carried into or out of the table


def test_a_table_shares_a_chunk_with_its_introduction_when_both_fit():
    [chunk] = chunk_blocks([Block("Budgets by grade are below.", 1, ("Training",)), table(grade_rows(3), 1)])
    assert chunk.text == "\n".join(["Budgets by grade are below.", NAMES] + grade_rows(3))


def test_a_table_longer_than_a_chunk_is_cut_between_rows_under_its_names():
    # names 3 words + 16 rows of 10 = 163 words fit a chunk, a 17th row would not
    chunks = chunk_blocks([table(grade_rows(40))])
    rows = grade_rows(40)
    assert [c.text for c in chunks] == ["\n".join([NAMES] + rows[:16]), "\n".join([NAMES] + rows[16:32]),
                                        "\n".join([NAMES] + rows[32:])]


def test_a_table_continued_over_a_page_break_is_packed_as_one_table():
    rows = grade_rows(9)
    [chunk] = chunk_blocks([table(rows[:3], 3), table(rows[3:], 4)])
    assert chunk.text == "\n".join([NAMES] + rows)  # the names once
    assert (chunk.page_start, chunk.page_end, chunk.page) == (3, 4, 4)


def test_html_table_longer_than_a_chunk_repeats_its_header_in_each_part():
    from knowledge.documents.loaders import parse

    body = "".join(f"<tr><td>Band {i}</td><td>{20 + i} days a year</td><td>after {i} years of service</td></tr>"
                   for i in range(30))
    html = (f"<html><body><h2>Leave by service</h2><table><tr><th>Band</th><th>Annual leave</th><th>From</th></tr>"
            f"{body}</table></body></html>").encode()
    chunks = chunk_blocks(parse("leave.html", html).blocks)
    assert len(chunks) == 4  # 17 words a row: nine rows and the names fill a chunk
    rows = []
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert lines[0] == "Band, Annual leave, From"
        rows += lines[1:]
    assert rows == [f"Band: Band {i} | Annual leave: {20 + i} days a year | From: after {i} years of service"
                    for i in range(30)]


def test_a_document_of_one_endless_word_becomes_passages_of_normal_size():
    """Outside review: 200,000 dots after "Dental implants." were one 200 KB passage (one "word" of the chunker)."""
    from knowledge.documents.chunking import MAX_UNIT_CHARS

    text = "Dental implants. " + "." * 200_000 + " end."
    chunks = chunk_blocks([Block(text, None, ("Dental",))])
    assert chunks and all(len(c.text) <= MAX_UNIT_CHARS + 200 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks).count(".") >= 200_000  # nothing dropped
