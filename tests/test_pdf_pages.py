"""Long PDFs (issue 27): page furniture never becomes a passage, a passage knows where each of its pages begins,
search and citations name the page of the sentence that answers, and no page of a file comes back twice."""
import json

import numpy as np

from langchain_core.documents import Document

from knowledge.answering.answers import extractive_answer
from knowledge.documents.blocks import Block
from knowledge.documents.chunking import chunk_blocks
from knowledge.documents.loaders import parse
from knowledge.documents.running import running_lines
from knowledge.search.evaluation import GoldQuestion, is_gold
from knowledge.search.pages import page_at, quote_pages
from knowledge.search.retrieval import Hit
from knowledge.search.sentences import StoredSentences
from tests.files import pdf_bytes

TOPICS = ["vacation", "sick leave", "parental leave", "jury duty", "bereavement", "sabbaticals", "volunteering",
          "study leave", "unpaid leave", "public holidays"]
BODY = [f"Requests for {topic} go to the people team, who answer the same week." for topic in TOPICS]


def guide_pages() -> list[list[str]]:
    """Ten pages as a printed guide has them: a running header, the body, and footers that alternate between even
    and odd pages, the even ones naming the chapter from page 6 on."""
    pages = []
    for n, body in enumerate(BODY, start=1):
        if n % 2:
            footer = f"Employee Guide (2025) {n}"
        elif n < 6:
            footer = f"{n} Employee Guide (2025)"
        else:
            footer = f"{n} Chapter 2 Leave Employee Guide (2025)"
        pages.append([f"Northwind Handbook - printed 12 March 2025 - page {n} of 10", body, footer])
    return pages


def test_running_headers_footers_and_chapter_footers_never_become_passages():
    doc = parse("guide.pdf", pdf_bytes(guide_pages(), title="Employee Guide"))
    text = "\n".join(block.text for block in doc.blocks)
    assert "Northwind Handbook" not in text
    assert "Employee Guide (2025)" not in text and "Chapter 2 Leave" not in text
    for n, body in enumerate(BODY, start=1):
        assert any(block.text == body and block.page == n for block in doc.blocks), body


def test_lone_page_numbers_at_the_top_are_furniture_but_a_recurring_body_line_is_not_read_from_the_middle():
    topics = ["vacation", "sickness", "pensions", "travel", "training", "equipment", "overtime"]
    pages = [[str(n)] + [f"The {topic} rules, part {part}, say something of their own." for part in "abcd"]
             + ["Ask us first."] + [f"More about {topic} in part {part}." for part in "efgh"]
             for n, topic in enumerate(topics, start=1)]
    found = running_lines(pages)
    assert found == {"#"}  # "Ask us first." recurs on every page, but in the middle of it, not at an edge


def test_a_passage_knows_where_each_of_its_pages_begins():
    blocks = [Block("Requests for vacation go through the people system at least two weeks ahead", 9, ("Vacation",)),
              Block("and your manager answers within five working days. Unused days lapse at the end of March.", 10,
                    ("Vacation",))]
    [chunk] = chunk_blocks(blocks)
    assert chunk.page_starts[0] == (0, 9)
    offset, page = chunk.page_starts[1]
    assert page == 10 and chunk.text[offset:].startswith("and your manager answers")
    lapse = chunk.text.index("Unused days lapse")
    assert page_at(chunk.page_starts, lapse) == 10
    assert page_at(chunk.page_starts, chunk.text.index("two weeks")) == 9
    assert quote_pages(chunk.text, "Requests for vacation go through the people system at least two weeks ahead and "
                       "your manager answers within five working days.", chunk.page_starts) == (9, 10)


def test_column_names_heading_a_chunk_take_the_page_of_the_row_after_them():
    rows = [[f"{n} years", f"{20 + n} days"] for n in range(1, 60)]
    table = [Block("Years of service, Annual leave\n" + "\n".join(f"Years of service: {a} | Annual leave: {b}"
                                                                   for a, b in rows[:30]), 3, (), True,
                   "Years of service, Annual leave"),
             Block("Years of service, Annual leave\n" + "\n".join(f"Years of service: {a} | Annual leave: {b}"
                                                                   for a, b in rows[30:]), 4, (), True,
                   "Years of service, Annual leave")]
    chunks = chunk_blocks(table)
    last = chunks[-1]
    assert last.text.startswith("Years of service, Annual leave\n")
    assert last.page_starts[0] == (0, 4)


VACATION = ("Requests for vacation go through the people system at least two weeks ahead of the first day away, "
            "and the request names the days and who covers your work while you are away from the office. "
            "Your manager answers within five working days and may ask you to move the dates when the team is "
            "short, which happens most often in December and in the summer months when many colleagues travel. "
            "Approved days appear in the shared calendar the same evening.")
LAPSE = "Unused vacation days lapse at the end of March of the following year."


def test_search_names_the_page_of_the_answering_sentence_and_the_span(runtime, invoke, tmp_path):
    path = tmp_path / "vacation.pdf"
    path.write_bytes(pdf_bytes([["# 1. Vacation", VACATION], [LAPSE]], title="Vacation policy"))
    assert runtime.ingestor.ingest_paths([path])[0].status == "added"
    [hit] = [h for h in runtime.searcher.search("when do unused vacation days lapse?", 5) if LAPSE in h.text]
    assert (hit.page_start, hit.page_end) == (1, 2)
    assert hit.page == 2  # most of the passage's words are on page 1; the sentence that answers is on page 2
    result = invoke("search", "when do unused vacation days lapse?", "--json", "--k", "3")
    top = json.loads(result.output)[0]
    assert top["page"] == 2 and top["pages"] == [1, 2]


def _search_a_chapter_on_one_page(runtime, tmp_path) -> list:
    """A leave chapter of three short sections on page 1 (three passages), sickness on page 2; "vacation days"."""
    path = tmp_path / "leave.pdf"
    path.write_bytes(pdf_bytes([
        ["# 1. Leave", "# 1.1 Vacation", "Vacation requests are made in the people system two weeks ahead.",
         "# 1.2 Vacation carry-over", "Up to five vacation days carry over to the next year.",
         "# 1.3 Vacation pay", "Vacation is paid at your normal daily rate."],
        ["# 2. Sickness", "Report sickness to your manager before ten in the morning."]], title="Leave"))
    runtime.ingestor.ingest_paths([path])
    return runtime.searcher.search("vacation days", 5)


def test_no_page_of_a_chapter_comes_back_twice(runtime, tmp_path):
    hits = _search_a_chapter_on_one_page(runtime, tmp_path)
    assert len(hits) >= 2
    assert [h.section for h in hits if h.page == 1][:1] and all(h.section.startswith("Leave") for h in hits
                                                                 if h.page == 1)
    places = [(h.document_id, h.page) for h in hits]
    assert len(places) == len(set(places)), places  # the three passages of page 1's chapter are one result


def test_a_second_passage_of_a_page_is_merged_into_its_result_not_dropped(runtime, tmp_path):
    hits = _search_a_chapter_on_one_page(runtime, tmp_path)
    [page_one] = [h for h in hits if h.page == 1]
    for rule in ("two weeks ahead", "carry over to the next year", "normal daily rate"):
        assert rule in page_one.text  # dropped before: only the best-ranked passage of the page was kept
    assert len(page_one.parts) == 3 and page_one.text.startswith(page_one.parts[0].text)
    assert page_one.score == max(part.score for part in page_one.parts)
    shown = page_one.as_json()
    assert shown["section"] == page_one.parts[0].section and len(shown["sections"]) == 3
    gold = GoldQuestion("vacation days", "leave.pdf", page_one.parts[-1].section.split(" > ")[-1], 1)
    assert gold.section not in page_one.parts[0].section
    assert is_gold(page_one, gold)  # the evaluation counts the merged passage that holds the rule


def test_a_merged_result_knows_each_passages_pages_and_sentences():
    vectors = {"primary": np.eye(3, dtype=np.float32)[:1], "multilingual": None}
    first = Hit(1, 7, "guide.pdf", "Guide", 4, 3, 4, "Leave > Vacation", "Ask two weeks ahead.", 0.9,
                page_starts=((0, 3), (4, 4)), sentences=StoredSentences(["Ask two weeks ahead."], [3], vectors))
    second = Hit(2, 7, "guide.pdf", "Guide", 4, 4, 4, "Leave > Pay", "Paid at the normal rate.", 0.8,
                 sentences=StoredSentences(["Paid at the normal rate."], [4], vectors))
    merged = first.merged_with(second)
    at = merged.text.index("Paid")
    assert merged.page_starts == ((0, 3), (4, 4), (at, 4)) and (merged.page_start, merged.page_end) == (3, 4)
    assert merged.sentences.texts == ["Ask two weeks ahead.", "Paid at the normal rate."]
    assert merged.sentences.pages == [3, 4] and merged.sentences.vectors["primary"].shape == (2, 3)
    assert merged.sentences.vectors["multilingual"] is None
    assert page_at(merged.section_starts, at) == "Leave > Pay" and merged.section == "Leave > Vacation"


def test_a_quote_from_a_merged_result_cites_its_own_section():
    first = Hit(1, 7, "guide.pdf", "Guide", 4, 4, 4, "Leave > Vacation",
                "Vacation requests go through the people system two weeks ahead.", 0.9)
    second = Hit(2, 7, "guide.pdf", "Guide", 4, 4, 4, "Leave > Carry-over",
                 "Unused vacation days lapse at the end of March.", 0.8)
    doc = first.merged_with(second).to_document()
    answer, [citation] = extractive_answer("when do unused vacation days lapse?", [doc], [], "HR", max_sentences=1)
    assert "lapse at the end of March" in answer
    assert citation.section == "Leave > Carry-over" and citation.page == 4


def test_the_citation_names_the_page_of_the_quote():
    text = "Requests for vacation go through the people system two weeks ahead.\nUnused vacation days lapse in March."
    starts = [[0, 4], [text.index("Unused"), 5]]
    doc = Document(page_content=text, metadata={"source": "guide.pdf", "title": "Guide", "page": 4,
                                                "section": "Vacation", "document_id": 1, "page_starts": starts})
    answer, citations = extractive_answer("when do unused vacation days lapse?", [doc], [], "HR",
                                          max_sentences=1)
    assert "lapse in March" in answer
    assert citations[0].page == 5 and citations[0].pages == "5"
    spanning = Document(page_content="Unused vacation days lapse at the end of March of the following year.",
                        metadata={**doc.metadata, "page_starts": [[0, 9], [28, 10]]})
    _, [citation] = extractive_answer("when do unused vacation days lapse?", [spanning], [], "HR")
    assert citation.pages == "9-10"


def test_a_body_that_recurs_on_short_pages_is_text_not_a_running_line():
    """Outside review: the same body on pages 2, 4 and 6 was deleted as a header (and an answer cited another
    page), and five pages each saying "Annual deductible for this tier: $X per person." with different figures kept
    only page 1."""
    from tests.files import pdf_bytes

    repeated = [[f"Perk {n}", "Bereavement leave is five paid days."] if n % 2 == 0
                else [f"Perk {n}", f"Volunteering leave is {n} paid days a year."] for n in range(1, 7)]
    doc = parse("duplicates.pdf", pdf_bytes(repeated, title=None))
    assert {b.page for b in doc.blocks if "Bereavement leave" in b.text} == {2, 4, 6}
    tiers = [[f"Annual deductible for this tier: ${x} per person."] for x in ("500", "1,000", "2,500", "5,000", "7,500")]
    doc = parse("tiers.pdf", pdf_bytes(tiers, title=None))
    assert [b.page for b in doc.blocks if "2,500" in b.text] == [3]


def test_pages_that_differ_only_in_their_figures_are_not_refused_as_furniture():
    """Outside review: 1,400 pages each with its own short line ("t12 perk 12") were refused as "Every page holds
    the same text"."""
    from tests.files import long_pdf

    doc = parse("perks.pdf", long_pdf(40, line=lambda n: f"t{n} perk {n}"))
    assert len({b.page for b in doc.blocks}) == 40
