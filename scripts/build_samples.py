#!/usr/bin/env python3
"""Build the PDF and DOCX sample documents from their Markdown sources.

Sources live in ``scripts/sample_sources/`` and the results are written to
``knowledge/sample/docs/``:

* ``annual-leave-policy.md``   -> ``annual-leave-policy.pdf``   (fpdf2)
* ``benefits-guide-2026.md``   -> ``benefits-guide-2026.pdf``   (fpdf2)
* ``parental-leave-policy.md`` -> ``parental-leave-policy.docx`` (python-docx)

The Markdown dialect is deliberately small: ``#`` is the document title,
``##``/``###``/``####`` are section headings of level 1-3, lines starting with
``- `` are bullets, and everything else is a paragraph (consecutive lines are
joined). Headings in the sources carry no numbers; the PDF builder numbers
them ("1. Entitlement", "1.2 Part-time employees", "3.1.2 ...").

The output is deterministic: fixed PDF creation date and document metadata,
and fixed timestamps inside the DOCX zip container, so rebuilding without
changing a source gives byte-identical files.

Usage:  python scripts/build_samples.py
Requires fpdf2 and python-docx.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from docx import Document
from docx.shared import Pt
from fpdf import FPDF

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "sample_sources"
OUT_DIR = ROOT / "knowledge" / "sample" / "docs"

FIXED_DATE = datetime(2026, 1, 1, 9, 0, 0, tzinfo=timezone.utc)
ZIP_DATE = (2026, 1, 1, 9, 0, 0)
AUTHOR = "Fernhill Analytics People Team"

PDF_DOCS = {
    # source file: (output file, short title for the running footer)
    "annual-leave-policy.md": ("annual-leave-policy.pdf", "Annual Leave Policy"),
    "benefits-guide-2026.md": ("benefits-guide-2026.pdf", "Benefits Guide 2026"),
}
DOCX_DOCS = {
    "parental-leave-policy.md": "parental-leave-policy.docx",
}


# --------------------------------------------------------------------------
# Markdown parsing
# --------------------------------------------------------------------------

@dataclass
class Block:
    kind: str                      # "title", "heading", "para", "bullets"
    text: str = ""
    level: int = 0                 # heading level 1-3 (## = 1)
    items: list[str] = field(default_factory=list)


def parse_markdown(text: str) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("para", " ".join(para)))
            para.clear()
        if bullets:
            blocks.append(Block("bullets", items=list(bullets)))
            bullets.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        m = re.match(r"^(#{1,4})\s+(.*)$", line)
        if m:
            flush()
            hashes, title = m.groups()
            if len(hashes) == 1:
                blocks.append(Block("title", title.strip()))
            else:
                blocks.append(Block("heading", title.strip(), level=len(hashes) - 1))
            continue
        if line.startswith("- "):
            if para:
                flush()
            bullets.append(line[2:].strip())
            continue
        if bullets and raw.startswith("  "):   # continuation of a bullet
            bullets[-1] += " " + line.strip()
            continue
        if bullets:
            flush()
        para.append(line.strip())
    flush()
    return blocks


def number_headings(blocks: list[Block]) -> list[tuple[Block, str]]:
    """Return (block, number) pairs; number is "" for non-headings."""
    counters = [0, 0, 0]
    out = []
    for b in blocks:
        if b.kind != "heading":
            out.append((b, ""))
            continue
        i = b.level - 1
        counters[i] += 1
        for j in range(i + 1, len(counters)):
            counters[j] = 0
        if any(c == 0 for c in counters[:i]):
            raise ValueError(f"heading level skipped before {b.text!r}")
        nums = [str(c) for c in counters[: i + 1]]
        out.append((b, nums[0] + "." if i == 0 else ".".join(nums)))
    return out


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------

PDF_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2022": "-", "\u00d7": "x",
    "\u2192": "->",
}


def pdf_text(s: str) -> str:
    """Make text encodable by the core (latin-1) fonts."""
    s = re.sub(r"€\s?(?=\d)", "EUR ", s)
    s = s.replace("€", "EUR")
    for a, b in PDF_REPLACEMENTS.items():
        s = s.replace(a, b)
    try:
        s.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"character not supported by core font in: {s!r}") from exc
    return s


class PolicyPDF(FPDF):
    BODY_SIZE = 10.5
    LINE_H = 5.4

    def __init__(self, footer_title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_title = footer_title
        self.set_margins(22, 20, 22)
        self.set_auto_page_break(auto=True, margin=22)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "", 8.5)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"Fernhill Analytics - {self.footer_title} - page {self.page_no()}",
                  align="C")
        self.set_text_color(0, 0, 0)

    # -- blocks ----------------------------------------------------------
    def title_block(self, text: str) -> None:
        self.set_font("Helvetica", "B", 20)
        self.multi_cell(0, 9, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def heading_block(self, number: str, text: str, level: int) -> None:
        size, space_before, space_after = {1: (14, 6, 2.5), 2: (12, 4, 1.5), 3: (11, 3, 1)}[level]
        # keep a heading together with at least a few lines of its body
        if self.get_y() + space_before + 8 + 3 * self.LINE_H > self.page_break_trigger:
            self.add_page()
        elif self.get_y() > self.t_margin + 1:
            self.ln(space_before)
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.5, pdf_text(f"{number} {text}"),
                        new_x="LMARGIN", new_y="NEXT")
        self.ln(space_after)

    def para_block(self, text: str) -> None:
        self.set_font("Helvetica", "", self.BODY_SIZE)
        self.multi_cell(0, self.LINE_H, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(2.2)

    def bullets_block(self, items: list[str]) -> None:
        self.set_font("Helvetica", "", self.BODY_SIZE)
        left = self.l_margin
        for item in items:
            self.set_x(left + 3)
            self.cell(4, self.LINE_H, "-")
            self.set_left_margin(left + 7)
            self.multi_cell(0, self.LINE_H, pdf_text(item), new_x="LMARGIN", new_y="NEXT")
            self.set_left_margin(left)
            self.ln(0.8)
        self.ln(1.4)


def build_pdf(src: Path, dest: Path, footer_title: str) -> None:
    blocks = parse_markdown(src.read_text(encoding="utf-8"))
    title = next(b.text for b in blocks if b.kind == "title")
    pdf = PolicyPDF(footer_title)
    pdf.set_title(pdf_text(title))
    pdf.set_author(AUTHOR)
    pdf.set_subject(pdf_text(f"Fernhill Analytics - {title}"))
    pdf.set_keywords("Fernhill Analytics, HR policy")
    pdf.set_creator("scripts/build_samples.py")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()
    for block, number in number_headings(blocks):
        if block.kind == "title":
            pdf.title_block(block.text)
        elif block.kind == "heading":
            if block.text.endswith("."):
                raise ValueError(f"heading ends with a period: {block.text!r}")
            pdf.heading_block(number, block.text, block.level)
        elif block.kind == "para":
            pdf.para_block(block.text)
        elif block.kind == "bullets":
            pdf.bullets_block(block.items)
    dest.write_bytes(bytes(pdf.output()))


# --------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------

def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip container with fixed timestamps."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = 0o644 << 16
            dst.writestr(new, src.read(info.filename))
    return out.getvalue()


def build_docx(src: Path, dest: Path) -> None:
    blocks = parse_markdown(src.read_text(encoding="utf-8"))
    title = next(b.text for b in blocks if b.kind == "title")
    doc = Document()
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)

    props = doc.core_properties
    props.title = title
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.subject = f"Fernhill Analytics - {title}"
    props.keywords = "Fernhill Analytics, HR policy"
    props.comments = "Generated by scripts/build_samples.py"
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.last_printed = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1

    for block in blocks:
        if block.kind == "title":
            doc.add_paragraph(block.text, style="Title")
        elif block.kind == "heading":
            doc.add_paragraph(block.text, style=f"Heading {block.level}")
        elif block.kind == "para":
            doc.add_paragraph(block.text, style="Normal")
        elif block.kind == "bullets":
            for item in block.items:
                doc.add_paragraph(item, style="List Bullet")

    buf = io.BytesIO()
    doc.save(buf)
    dest.write_bytes(_deterministic_zip(buf.getvalue()))


# --------------------------------------------------------------------------

def main() -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, (out_name, footer_title) in PDF_DOCS.items():
        build_pdf(SOURCES / name, OUT_DIR / out_name, footer_title)
        print(f"wrote {OUT_DIR / out_name}")
    for name, out_name in DOCX_DOCS.items():
        build_docx(SOURCES / name, OUT_DIR / out_name)
        print(f"wrote {OUT_DIR / out_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
