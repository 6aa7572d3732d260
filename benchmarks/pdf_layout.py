"""Layout-aware PDF headings, measured on documents nobody here wrote (issue 10 item 1): the 24 external 18F
handbook pages rendered as PDFs the way word processors export them (headings larger and bold, never numbered),
then retrieval on the 60 external questions with headings read from the layout (now) and without (before: only
numbered headings were recognised, so these PDFs had no sections at all).

    python benchmarks/pdf_layout.py
"""
from __future__ import annotations

import re
import sys
from dataclasses import replace
import tempfile
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ingested, write_result  # noqa: E402
from benchmarks.retrieval_quality import EXTERNAL, external_questions, measure  # noqa: E402
from knowledge.search.retrieval import HybridSearcher  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

SIZES = {1: 18, 2: 15, 3: 12.5, 4: 11.5}
LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def latin(text: str) -> str:
    text = LINK.sub(r"\1", text).replace("**", "").replace("`", "")
    for a, b in {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                 "\u2026": "...", "\u00a0": " "}.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


def render(markdown: str, out: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    for block in re.split(r"\n\s*\n", markdown):
        block = block.strip()
        if not block or block.startswith("---"):
            continue
        heading = re.match(r"^(#{1,4})\s+(.*)$", block)
        if heading:
            pdf.set_font("Helvetica", "B", SIZES[len(heading.group(1))])
            pdf.multi_cell(0, SIZES[len(heading.group(1))] * 0.55, latin(heading.group(2)), new_x="LMARGIN",
                           new_y="NEXT")
            continue
        pdf.set_font("Helvetica", "", 10.5)
        for line in block.splitlines():
            pdf.multi_cell(0, 5.5, latin(line.strip()), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    out.write_bytes(bytes(pdf.output()))


def main() -> None:
    settings = Settings.from_env(environ={}, dotenv_path=None)
    questions = external_questions()
    results = {"questions": len(questions)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "18f-pdf"
        folder.mkdir()
        for page in sorted((EXTERNAL / "18f-handbook").glob("*.md")):
            render(page.read_text(), folder / (page.stem + ".pdf"))
        # the gold answers name the markdown file: the same page, now a PDF
        questions = [replace(q, source=q.source.removesuffix(".md") + ".pdf") for q in questions]
        embeddings = None
        for variant in ("numbered headings only (before)", "headings from the layout (now)"):
            no_layout = lambda data, n, budget=None: [{} for _ in range(n)]  # noqa: E731
            patch = (mock.patch("knowledge.documents.loaders.font_headings", no_layout)
                     if "before" in variant else mock.patch.dict({}))
            with patch, ingested(folder, settings, embeddings) as rt:
                embeddings = rt.embeddings
                with rt.db.connection() as conn:
                    sections = conn.execute("SELECT count(DISTINCT (document_id, section)) FROM chunks").fetchone()[0]
                searcher = HybridSearcher(rt.db, embeddings, multilingual=rt.multilingual,
                                          multilingual_for=rt.searcher.multilingual_for)
                results[variant] = {"sections": sections, **measure(searcher, questions, by_answer=True)}
                r = results[variant]
                print(f"{variant:34} sections {sections:4}  hit@1 {r['hit@1']:.3f}  hit@5 {r['hit@5']:.3f}  "
                      f"hit@10 {r['hit@10']:.3f}  MRR {r['mrr']:.3f}")
    print(f"written to {write_result('pdf_layout', results)}")


if __name__ == "__main__":
    main()
