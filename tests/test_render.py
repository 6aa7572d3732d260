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


def test_an_answer_quoting_one_huge_sentence_fits_one_slack_message():
    """Outside review: a document that is one 200,000-character "sentence" was quoted whole, and the 148 KB
    chat.update Slack refuses left the asker with "Looking that up..." for ever."""
    from bot.render import ANSWER_LIMIT

    blocks = answer_blocks(Answer("Dental implants. " + "." * 200_000 + " end.", [], supported=True), question_id=3)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sum(len(text) for text in sections) <= ANSWER_LIMIT + 100
    assert "shortened" in sections[-1]
    assert blocks[-1]["type"] == "actions"
