"""Parsing each supported file type: text, pages, headings; and every kind of bad file."""
import pytest

from knowledge.errors import DocumentRejected
from knowledge.documents.loaders import parse
from tests.files import blank_pdf_bytes, docx_bytes, encrypted_pdf_bytes, pdf_bytes


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
    assert any(b.text == "United Kingdom | Two weeks at full pay" for b in doc.blocks)


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
    assert any(b.text == "Hotel | £150" for b in doc.blocks)


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
    assert "Germany | 6 weeks" in texts
    assert not any("Intranet menu" in t or "Copyright" in t or "tracking" in t for t in texts)
    assert next(b for b in doc.blocks if b.text.startswith("Germany")).section == ("Pay",)


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
