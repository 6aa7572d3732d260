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


# --- hostile files: cheap to make and small on disk, expensive to read (issue: files that cost far more than
# they look). Each is built here, in a second or less, so no binary fixture has to be kept.

ENTITY_BOMB = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE w:document [\n'
               b'<!ENTITY lol "lol">\n'
               + b"".join(b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                          for n in range(1, 10))
               + b"]>\n")


def _docx_with_part(part: str, replace) -> bytes:
    """A real DOCX from python-docx with one part rewritten by replace(old bytes) -> new bytes."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(docx_bytes("Hostile", [(1, "Leave", ["Everyone gets 30 days."])])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, replace(data) if info.filename == part else data)
    return out.getvalue()


def entity_bomb_docx() -> bytes:
    """A DOCX whose document.xml declares the 'billion laughs' entities (10^9 'lol's) and uses the last one."""
    def bomb(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1].lstrip()
        return ENTITY_BOMB + body.replace(b"Everyone gets 30 days.", b"&lol9;", 1)
    return _docx_with_part("word/document.xml", bomb)


def inflated_docx(megabytes: float = 8.0, varied: bool = False) -> bytes:
    """A DOCX of ~60 kB whose document.xml is `megabytes` MB of paragraphs (repetitive text compresses ~135:1);
    varied: every paragraph numbered apart, which compresses only ~55:1 (~150 kB for 8 MB)."""
    def inflate(xml: bytes) -> bytes:
        head, tail = xml.split(b"<w:sectPr", 1)
        paragraph = (b'<w:p><w:r><w:t>Clause %d. Everyone gets thirty days of annual leave, taken in agreement '
                     b'with their manager; unused days lapse at the end of March.</w:t></w:r></w:p>')
        count = int(megabytes * 1024 * 1024 / len(paragraph % 10000))
        return head + b"".join(paragraph % (n if varied else n % 100) for n in range(count)) + b"<w:sectPr" + tail
    return _docx_with_part("word/document.xml", inflate)


CLAUSES = ("leave is agreed with your manager", "sick days need a note from the eighth day",
           "expenses are claimed within a month", "training has its own budget", "notice is one month")


def long_pdf(pages: int, line=lambda n: f"Clause {n}: {CLAUSES[n % len(CLAUSES)]}.",
             declared: int | None = None) -> bytes:
    """A PDF of `pages` pages written by hand (fpdf2 takes a minute for 10,000): one object per page and one
    content stream per page with its line of text; line(n) gives page n's line. declared: the /Count its page
    tree claims (default: the truth)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",  # 2: the page tree, filled in below
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for n in range(1, pages + 1):
        text = line(n).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        stream = b"BT /F1 11 Tf 72 720 Td (" + text + b") Tj ET"
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       b" /Contents %d 0 R >>" % len(objects))
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages if declared is None else declared,
                                                                  b" ".join(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def same_line_pdf(pages: int = 200) -> bytes:
    """Every page holds one and the same line (as a running header would be): nothing else."""
    return long_pdf(pages, line=lambda n: "Acme Ltd - Employee Handbook - Confidential")
