"""Parsing each supported file type: text, pages, headings; and every kind of bad file."""
import pytest

from knowledge.errors import DocumentRejected
from knowledge.documents.loaders import parse
from tests.files import blank_pdf_bytes, docx_bytes, encrypted_pdf_bytes, layout_pdf, pdf_bytes


def test_pdf_keeps_one_based_pages_and_numbered_headings():
    data = pdf_bytes([
        ["# 1. Annual leave", "Full-time staff receive 25 days of annual leave each year."],
        ["# 1.2 Carry-over", "Up to five unused days may be carried into the next year."],
        ["# 2. Sick leave", "Tell your manager before 10am on the first day of absence."],
    ], title="Leave Policy")
    doc = parse("leave.pdf", data)
    assert doc.title == "Leave Policy"
    assert doc.pages == 3
    by_text = {b.text: b for b in doc.blocks}
    carry = by_text["Up to five unused days may be carried into the next year."]
    assert carry.page == 2
    assert carry.section == ("Annual leave", "Carry-over")
    sick = by_text["Tell your manager before 10am on the first day of absence."]
    assert (sick.page, sick.section) == (3, ("Sick leave",))


def test_pdf_running_footer_is_dropped():
    bodies = ["Leave is booked in advance.", "Sick days are reported by phone.", "Expenses need receipts.",
              "Remote work needs approval."]
    pages = [[f"# {i}. Part {i}", body, f"Acme Ltd - Policy - page {i}"] for i, body in enumerate(bodies, 1)]
    doc = parse("p.pdf", pdf_bytes(pages))
    assert [b.text for b in doc.blocks] == bodies
    assert [b.page for b in doc.blocks] == [1, 2, 3, 4]


def test_permission_only_encrypted_pdf_is_read():
    doc = parse("restricted.pdf", encrypted_pdf_bytes(user_password=""))
    assert [b.text for b in doc.blocks] == ["Secret salary bands."]


def test_docx_uses_heading_styles_and_tables():
    data = docx_bytes("Parental Leave", [
        (1, "Maternity leave", ["You can take up to 52 weeks of maternity leave."]),
        (2, "Enhanced pay", ["The first 16 weeks are paid in full."]),
    ])
    doc = parse("parental.docx", data)
    assert doc.title == "Parental Leave"
    assert doc.pages is None
    enhanced = next(b for b in doc.blocks if "16 weeks" in b.text)
    assert enhanced.section == ("Maternity leave", "Enhanced pay")
    [table] = [b for b in doc.blocks if b.table]
    assert table.text == "Country, Paternity leave\nCountry: United Kingdom | Paternity leave: Two weeks at full pay"
    assert table.section == ("Maternity leave", "Enhanced pay")


def test_markdown_heading_path_and_inline_markup():
    text = ("# Handbook\n\nIntro paragraph.\n\n## Expenses\n\n### Meals\n\nUp to **£25** per day, see "
            "[the tool](https://x).\n\n- Keep receipts\n- Submit in 60 days\n\n| Item | Limit |\n|---|---|\n"
            "| Hotel | £150 |\n")
    doc = parse("handbook.md", text.encode())
    assert doc.title == "Handbook"
    meals = next(b for b in doc.blocks if "per day" in b.text)
    assert meals.text == "Up to £25 per day, see the tool."
    assert meals.section == ("Expenses", "Meals")
    assert any(b.text == "- Submit in 60 days" for b in doc.blocks)
    [table] = [b for b in doc.blocks if b.table]
    assert (table.text, table.header, table.rows) == ("Item, Limit\nItem: Hotel | Limit: £150", "Item, Limit",
                                                      ["Item: Hotel | Limit: £150"])


def test_html_skips_navigation_and_footer():
    html = b"""<html><head><title>Sick leave</title><script>var x = 'tracking';</script></head><body>
    <nav><a href='/'>Home</a> | <a href='/x'>Intranet menu</a></nav>
    <main><h1>Sick Leave Policy</h1><h2>Reporting</h2><p>Call your manager by <b>10am</b>.</p>
    <h2>Pay</h2><table><tr><th>Country</th><th>Full pay</th></tr><tr><td>Germany</td><td>6 weeks</td></tr></table>
    </main><footer>Copyright Fernhill</footer></body></html>"""
    doc = parse("sick.html", html)
    assert doc.title == "Sick Leave Policy"
    texts = [b.text for b in doc.blocks]
    assert "Call your manager by 10am ." in texts or "Call your manager by 10am." in texts
    assert "Country, Full pay\nCountry: Germany | Full pay: 6 weeks" in texts
    assert not any("Intranet menu" in t or "Copyright" in t or "tracking" in t for t in texts)
    assert next(b for b in doc.blocks if b.table).section == ("Pay",)


def test_plain_text_paragraphs_and_title_from_name():
    doc = parse("remote_work-faq.txt", b"First paragraph.\n\nSecond paragraph\ncontinues here.\n")
    assert doc.title == "Remote work faq"
    assert [b.text for b in doc.blocks] == ["First paragraph.", "Second paragraph continues here."]


@pytest.mark.parametrize("name,data,reason", [
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog garbage", "corrupt"),
    ("renamed.pdf", b"PK\x03\x04 this is a zip", "not a valid PDF"),
    ("locked.pdf", None, "password-protected"),
    ("scan.pdf", None, "no extractable text"),
    ("empty.md", b"   \n\n", "empty"),
    ("notes.pages", b"some bytes", "not supported"),
    ("noext", b"some bytes", "not supported"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "could not be opened"),
    ("blank.html", b"<html><body><nav>menu</nav></body></html>", "No text"),
])
def test_bad_files_are_rejected_with_a_reason(name, data, reason):
    if name == "locked.pdf":
        data = encrypted_pdf_bytes()
    if name == "scan.pdf":
        data = blank_pdf_bytes()
    with pytest.raises(DocumentRejected, match=reason):
        parse(name, data)


def test_pdf_headings_come_from_size_and_weight_when_they_are_not_numbered():
    from tests.files import styled_pdf_bytes

    data = styled_pdf_bytes([
        ("title", "Employee Handbook"),
        ("body", "This handbook explains how we work together."),
        ("h1", "Time off"),
        ("h2", "Vacation"),
        ("body", "Everyone receives 28 days of vacation per calendar year, plus public holidays."),
        ("h2", "Sick days"),
        ("body", "Call your manager before your shift starts when you are ill."),
        ("bold", "Doctor's notes"),
        ("body", "A note is needed from the fourth day of absence onwards."),
        ("page", ""),
        ("h1", "Benefits"),
        ("body", "The dental plan covers two check-ups a year and 50 percent of fillings."),
    ])
    doc = parse("handbook.pdf", data)
    by_text = {b.text: b for b in doc.blocks}
    assert by_text["Everyone receives 28 days of vacation per calendar year, plus public holidays."].section == (
        "Time off", "Vacation")
    assert by_text["Call your manager before your shift starts when you are ill."].section == ("Time off", "Sick days")
    assert by_text["A note is needed from the fourth day of absence onwards."].section == (
        "Time off", "Sick days", "Doctor's notes")
    dental = by_text["The dental plan covers two check-ups a year and 50 percent of fillings."]
    assert (dental.page, dental.section) == (2, ("Benefits",))
    assert not any(b.section and b.section[0] == "Employee Handbook" for b in doc.blocks)  # the title, not a section


# --- tables in PDFs ---------------------------------------------------------------------------------------

DENTAL = [("Service", "Covered", "Annual limit"),
          ("Check-ups and X-rays", "100%", "No limit"),
          ("Fillings and root canal treatment by a registered dentist or hygienist", "80%", "1,500 per year"),
          ("Crowns and bridges", "50%", "1,000 per year"),
          ("Dental implants", "50%", "1,000 per year, after 12 months of cover"),
          ("Orthodontics for children", "60%", "2,000 per child"),
          ("Emergency treatment", "100%", "300 per call-out")]
DENTAL_ROWS = ["Service: Check-ups and X-rays | Covered: 100% | Annual limit: No limit",
               "Service: Fillings and root canal treatment by a registered dentist or hygienist | Covered: 80% | "
               "Annual limit: 1,500 per year",
               "Service: Crowns and bridges | Covered: 50% | Annual limit: 1,000 per year",
               "Service: Dental implants | Covered: 50% | Annual limit: 1,000 per year, after 12 months of cover",
               "Service: Orthodontics for children | Covered: 60% | Annual limit: 2,000 per child",
               "Service: Emergency treatment | Covered: 100% | Annual limit: 300 per call-out"]
INTRO = "The dental plan pays a share of the cost of treatment, up to a limit for each kind of treatment."
OUTRO = "Claims are made in the provider's app within 90 days of the treatment."


@pytest.mark.parametrize("bold_names", [True, False], ids=["bold names", "plain names"])
def test_pdf_table_is_one_block_whose_rows_name_their_columns(bold_names):
    data = layout_pdf([("title", "Benefits"), ("h", "Dental plan"), ("p", INTRO), ("table", DENTAL), ("p", OUTRO)],
                      bold_names=bold_names)
    doc = parse("benefits.pdf", data)
    assert [(b.text, b.table, b.section) for b in doc.blocks] == [
        ("Benefits", False, ()),  # the document's title
        (INTRO, False, ("Dental plan",)),
        ("\n".join(["Service, Covered, Annual limit"] + DENTAL_ROWS), True, ("Dental plan",)),
        (OUTRO, False, ("Dental plan",)),  # a bold names row was not taken for a heading
    ]
    table = doc.blocks[2]
    assert (table.header, table.rows, table.page) == ("Service, Covered, Annual limit", DENTAL_ROWS, 1)


def test_pdf_table_detection_off_reads_the_cells_as_lines(monkeypatch):
    monkeypatch.setattr("knowledge.documents.pdf_layout.PDF_TABLES", False)
    doc = parse("benefits.pdf", layout_pdf([("p", INTRO), ("table", DENTAL), ("p", OUTRO)]))
    assert not any(b.table for b in doc.blocks)
    assert any("Dental implants 50% 1,000 per year, after 12 months of cover" in b.text for b in doc.blocks)


LEAVE = [("Years of service", "Annual leave", "Carry-over")] + [
    (f"{n} years", f"{20 + n} days", f"up to {min(n, 10)} days") for n in range(1, 41)]


@pytest.mark.parametrize("repeat_names", [True, False], ids=["names repeated", "names not repeated"])
def test_pdf_table_over_a_page_break_keeps_its_column_names(repeat_names):
    doc = parse("leave.pdf", layout_pdf([("p", INTRO), ("p", INTRO), ("table", LEAVE), ("p", OUTRO)],
                                        repeat_names=repeat_names))
    tables = [b for b in doc.blocks if b.table]
    assert [b.page for b in tables] == [1, 2]
    assert {b.header for b in tables} == {"Years of service, Annual leave, Carry-over"}
    rows = [row for b in tables for row in b.rows]
    assert rows == [f"Years of service: {n} years | Annual leave: {20 + n} days | Carry-over: up to {min(n, 10)} days"
                    for n in range(1, 41)]  # every row once, in order; a repeated names row is not a row
    assert doc.blocks[-1].text == OUTRO and not doc.blocks[-1].table


def test_long_pdf_table_is_cut_between_rows_each_part_under_the_names():
    from knowledge.documents.chunking import MAX_WORDS, chunk_blocks

    chunks = [c for c in chunk_blocks(parse("leave.pdf", layout_pdf([("table", LEAVE)])).blocks)]
    assert len(chunks) > 1
    rows = []
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert lines[0] == "Years of service, Annual leave, Carry-over"
        assert len(chunk.text.split()) <= MAX_WORDS
        rows += lines[1:]
    assert rows == [f"Years of service: {n} years | Annual leave: {20 + n} days | Carry-over: up to {min(n, 10)} days"
                    for n in range(1, 41)]
    assert (chunks[0].page_start, chunks[-1].page_end) == (1, 2)


def prose_pdf(draw) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10.5)
    draw(pdf)
    return bytes(pdf.output())


PROSE = ("Everyone receives twenty-eight days of paid vacation in each calendar year, and part-time colleagues "
         "receive the same allowance in proportion to their hours. Requests are made in the people system at least "
         "two weeks ahead, and your manager answers within five working days. Days that are not taken by the end of "
         "March lapse, unless illness or parental leave kept you from taking them. ") * 2


def wrapped(pdf, text: str, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and pdf.get_string_width(f"{line} {word}") > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]


def two_columns(row_by_row: bool):
    def draw(pdf):
        lines = wrapped(pdf, PROSE, 85)
        half = (len(lines) + 1) // 2
        left, right = lines[:half], lines[half:]
        drawn = ([(x, n, line) for n in range(half) for x, line in ((10, left[n]), (105, (right + [""])[n])) if line]
                 if row_by_row else [(10, n, line) for n, line in enumerate(left)]
                 + [(105, n, line) for n, line in enumerate(right)])
        for x, n, line in drawn:
            pdf.text(x, 20 + n * 5.5, line)
    return draw


def widely_spaced_words(pdf):
    x, y = 10, 20
    for word in PROSE.split():
        if x + pdf.get_string_width(word) > 200:
            x, y = 10, y + 6
        pdf.text(x, y, word)  # each word drawn on its own, far apart, as justified text sometimes is
        x += pdf.get_string_width(word) + 6


def numbered_steps(pdf):
    steps = ["Open the people system and choose Time off.", "Pick the first and last day of your leave.",
             "Add a note for your manager if you like.", "Submit the request and wait for approval.",
             "Check your balance once it is approved."]
    for n, step in enumerate(steps, start=1):
        pdf.text(15, 20 + n * 6, f"{n}.")
        pdf.text(25, 20 + n * 6, step)


def labelled_values(pdf):
    for n, (label, value) in enumerate([("Owner:", "People team"), ("Version:", "5.0"),
                                        ("Effective:", "1 January 2026"), ("Review:", "Every year")]):
        pdf.set_font("Helvetica", "B", 10.5)
        pdf.text(15, 20 + n * 6, label)
        pdf.set_font("Helvetica", "", 10.5)
        pdf.text(50, 20 + n * 6, value)


@pytest.mark.parametrize("draw", [two_columns(True), two_columns(False), widely_spaced_words, numbered_steps,
                                  labelled_values],
                         ids=["two columns drawn line by line", "two columns drawn one after the other",
                              "widely spaced words", "numbered steps", "labelled values"])
def test_pdf_prose_lists_and_columns_are_not_tables(draw, monkeypatch):
    data = prose_pdf(draw)
    doc = parse("policy.pdf", data)
    assert not any(b.table for b in doc.blocks)
    monkeypatch.setattr("knowledge.documents.pdf_layout.PDF_TABLES", False)
    assert [(b.text, b.page, b.section) for b in parse("policy.pdf", data).blocks] == [
        (b.text, b.page, b.section) for b in doc.blocks]


@pytest.mark.parametrize("name", ["annual-leave-policy.pdf", "benefits-guide-2026.pdf"])
def test_sample_pdfs_parse_as_they_did_before_tables(name, monkeypatch):
    from knowledge.runtime import SAMPLE_DOCS

    data = (SAMPLE_DOCS / name).read_bytes()
    now = parse(name, data)
    monkeypatch.setattr("knowledge.documents.pdf_layout.PDF_TABLES", False)
    before = parse(name, data)
    assert not any(b.table for b in now.blocks)  # their lists of figures are lists, not tables
    assert [(b.text, b.page, b.section) for b in now.blocks] == [(b.text, b.page, b.section) for b in before.blocks]
    assert len(now.blocks) > 30
