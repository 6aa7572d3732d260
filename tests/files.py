"""Builders for test documents of every supported type, made in the test (no binary fixtures to go stale)."""
from __future__ import annotations

import io


def pdf_bytes(pages: list[list[str]], title: str | None = "Test Policy") -> bytes:
    """A text PDF: each page a list of lines; lines starting with '#' are bold numbered headings."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(__import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").timezone.utc))
    if title:
        pdf.set_title(title)
    pdf.set_auto_page_break(False)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            if line.startswith("#"):
                pdf.set_font("Helvetica", "B", 13)
                pdf.multi_cell(0, 8, line.lstrip("# "), new_x="LMARGIN", new_y="NEXT")
            else:
                pdf.set_font("Helvetica", "", 11)
                pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def styled_pdf_bytes(lines: list[tuple[str, str]], title: str | None = None) -> bytes:
    """A PDF as people make them, headings shown only by their look: (style, text) with style 'title' (20 pt
    bold), 'h1' (15 pt bold), 'h2' (12.5 pt bold), 'bold' (bold at body size) or 'body' (10.5 pt)."""
    from fpdf import FPDF

    fonts = {"title": ("B", 20), "h1": ("B", 15), "h2": ("B", 12.5), "bold": ("B", 10.5), "body": ("", 10.5)}
    pdf = FPDF(format="A4")
    if title:
        pdf.set_title(title)
    pdf.add_page()
    for style, text in lines:
        if style == "page":
            pdf.add_page()
            continue
        weight, size = fonts[style]
        pdf.set_font("Helvetica", weight, size)
        pdf.multi_cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def blank_pdf_bytes() -> bytes:
    """A PDF with a drawing but no text, like a scan."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    return bytes(pdf.output())


def encrypted_pdf_bytes(user_password: str = "hunter2") -> bytes:
    """AES-encrypted; with an empty user password it only restricts permissions (opens without one)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([["# 1. Pay", "Secret salary bands."]]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(title: str, sections: list[tuple[int, str, list[str]]]) -> bytes:
    """sections: (heading level, heading, paragraphs)."""
    import docx

    document = docx.Document()
    document.add_paragraph(title, style="Title")
    for level, heading, paragraphs in sections:
        document.add_heading(heading, level=level)
        for text in paragraphs:
            document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Country", "Paternity leave"
    table.cell(1, 0).text, table.cell(1, 1).text = "United Kingdom", "Two weeks at full pay"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def layout_pdf(items: list[tuple[str, object]], repeat_names: bool = True, bold_names: bool = True,
               table_size: float = 10.5, leading: float = 6.0, after_table: float = 2.0) -> bytes:
    """A PDF laid out the way word processors export one: ("title", text) 18 pt bold, ("h", text) a 14 pt bold
    heading, ("p", text) a 10.5 pt paragraph, ("table", rows) a bordered table whose first row names the columns
    (bold, and repeated at the top of a new page, unless told otherwise)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    pdf.add_page()
    for kind, value in items:
        if kind in ("title", "h"):
            pdf.set_font("Helvetica", "B", 18 if kind == "title" else 14)
            pdf.multi_cell(0, 9, value, new_x="LMARGIN", new_y="NEXT")
        elif kind == "p":
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, leading, value, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        else:
            pdf.set_font("Helvetica", "", table_size)
            with pdf.table(repeat_headings=1 if repeat_names else 0,
                           headings_style=FontFace(emphasis="BOLD" if bold_names else "")) as table:
                for cells in value:
                    row = table.row()
                    for cell in cells:
                        row.cell(cell)
            pdf.ln(after_table)
    return bytes(pdf.output())
