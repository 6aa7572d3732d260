"""Block Kit rendering stays inside Slack's limits whatever the answer's length."""
from bot.render import MAX_BLOCKS, SECTION_LIMIT, answer_blocks, split_text
from knowledge.answering.answers import Answer, Citation


def test_long_answers_are_split_within_limits():
    text = "\n".join(f"Paragraph {i}: " + "word " * 400 for i in range(60))
    citations = [Citation(n, f"doc{n}.pdf", f"Document {n}", n, f"Section {n}", n) for n in range(1, 12)]
    blocks = answer_blocks(Answer(text, citations, supported=True), question_id=7)
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_LIMIT
        if block["type"] == "context":
            assert all(len(e["text"]) <= SECTION_LIMIT for e in block["elements"])
    assert blocks[-1]["type"] == "actions"  # the buttons survive shortening


def test_split_text_keeps_every_word_and_breaks_between_words():
    text = "alpha " * 2000
    pieces = split_text(text, limit=500)
    assert all(len(p) <= 500 for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())
