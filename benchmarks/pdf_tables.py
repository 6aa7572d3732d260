"""PDF tables kept whole (issue 10 item 1), on our own synthetic set: four PDFs of HR tables (a dental schedule,
vision allowances, leave by years of service, family leave, a 36-row travel-expenses table that runs over a page
break, sick pay by service, training budgets) set among prose, rendered with fpdf2 the way word processors export
tables (bordered, column names on the first row, wrapped cells). 20 questions, written before any result was
seen, each answered by one table row. The PDFs are ingested through the real pipeline with table detection off
(before: the cells were read as lines of text) and on (now), in two renderings: column names in bold (fpdf2's
default) and in plain text. The plain rendering was added after the first run: it showed that, before, a bold
names row was taken for a heading, which put the names in every passage's heading by accident. Also added after
the first run: the long travel table alone on one page (8 pt), because in the set as written a page break split it
into parts shorter than a passage, so nothing was cut; for it only the rows are counted (parse and chunk_blocks,
the functions ingestion runs), as no question was written for it.

Measured: hit@1/hit@5 where a retrieved passage holds the whole answer row (its cells in order) together with the
column names (in its text or its heading), the same without the names, and how many of all the tables' rows no
single passage holds whole (cut by a passage boundary).

    python benchmarks/pdf_tables.py
"""
from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ingested, write_result  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

DENTAL = [("Treatment", "Plan pays", "Annual limit"),
          ("Check-ups and examinations", "100%", "No limit"),
          ("Scale and polish", "100%", "2 visits"),
          ("Fillings and extractions", "80%", "1,200"),
          ("Root canal treatment", "80%", "1,200, shared with fillings"),
          ("Crowns and bridges", "50%", "1,500"),
          ("Dental implants", "50%", "2,000, after 12 months of membership"),
          ("Orthodontics (under 18 only)", "60%", "2,500 per child"),
          ("Emergency call-outs", "100%", "300 per emergency")]
VISION = [("Item", "Allowance", "How often"),
          ("Eye test", "Full cost", "Every 2 years"),
          ("Glasses for screen use", "Up to 150", "Every 2 years"),
          ("Contact lenses", "Up to 100", "Every year"),
          ("Prescription safety glasses", "Full cost", "When needed for your role"),
          ("Laser eye surgery", "Not covered", "-")]
ANNUAL = [("Years of service", "Annual leave", "Carry-over allowed"),
          ("Less than 2 years", "25 days", "5 days"),
          ("2 to 4 years", "26 days", "5 days"),
          ("5 to 9 years", "28 days", "8 days"),
          ("10 to 14 years", "30 days", "10 days"),
          ("15 years or more", "32 days", "10 days"),
          ("Part-time staff", "Pro rata to hours", "Pro rata to hours")]
FAMILY = [("Leave type", "Paid at full pay", "Further leave", "Notice needed"),
          ("Maternity leave", "16 weeks", "36 weeks at statutory pay", "15 weeks before the due date"),
          ("Paternity leave", "4 weeks", "None", "15 weeks before the due date"),
          ("Adoption leave", "16 weeks", "36 weeks at statutory pay", "28 days after matching"),
          ("Shared parental leave", "Matches maternity pay", "Up to 50 weeks shared", "8 weeks"),
          ("Parental leave (unpaid)", "None", "18 weeks per child", "21 days"),
          ("Bereavement leave", "5 days", "5 further unpaid days", "As soon as possible")]
TRAVEL = [("Expense", "Limit", "Receipt needed", "Approved by"),
          ("Hotel, capital cities", "220 per night", "Yes", "Line manager"),
          ("Hotel, other cities", "150 per night", "Yes", "Line manager"),
          ("Hotel, more than 14 nights", "Serviced apartment rate", "Yes", "Director"),
          ("Breakfast", "15", "Yes", "Line manager"),
          ("Lunch", "20", "Yes", "Line manager"),
          ("Dinner", "40", "Yes", "Line manager"),
          ("Client dinner", "80 per guest", "Yes, with guest names", "Director"),
          ("Economy flight, under 6 hours", "Lowest fare", "Yes", "Line manager"),
          ("Premium economy, over 6 hours", "Lowest premium fare", "Yes", "Director"),
          ("Business class", "Not allowed", "-", "Chief financial officer, as an exception"),
          ("Rail, standard class", "Actual fare", "Yes", "Line manager"),
          ("Rail, first class", "Not allowed", "-", "Director, as an exception"),
          ("Taxi to or from an airport", "60 per trip", "Yes", "Line manager"),
          ("Taxi after 9 pm", "Actual fare", "Yes", "Line manager"),
          ("Ride sharing", "Actual fare", "Yes", "Line manager"),
          ("Car hire, small car", "50 per day", "Yes", "Line manager"),
          ("Fuel for hired cars", "Actual cost", "Yes", "Line manager"),
          ("Own car mileage", "0.45 per mile", "Mileage log", "Line manager"),
          ("Parking", "25 per day", "Yes", "Line manager"),
          ("Tolls and congestion charges", "Actual cost", "Yes", "Line manager"),
          ("Mobile data roaming", "10 per day", "No", "Automatic"),
          ("Laundry, trips over 5 nights", "20 per week", "Yes", "Line manager"),
          ("Visa fees", "Actual cost", "Yes", "People team"),
          ("Travel vaccinations", "Actual cost", "Yes", "People team"),
          ("Travel insurance", "Company policy", "No", "Automatic"),
          ("Conference fees", "Actual cost", "Yes", "Director"),
          ("Tips", "10% of the bill", "No", "Line manager"),
          ("Gym or spa", "Not allowed", "-", "-"),
          ("Minibar", "Not allowed", "-", "-"),
          ("In-flight wifi", "20 per flight", "Yes", "Line manager"),
          ("Excess baggage for equipment", "Actual cost", "Yes", "Line manager"),
          ("Lost luggage essentials", "150 per trip", "Yes", "Line manager"),
          ("Home office internet", "30 per month", "Yes", "Line manager"),
          ("Cash advance", "500 per trip", "Not applicable", "Finance"),
          ("Gifts to clients", "50 per person", "Yes", "Director"),
          ("Team event", "60 per person", "Yes", "Director")]
SICK = [("Length of service", "Full pay", "Half pay"),
        ("Under 6 months", "2 weeks", "2 weeks"),
        ("6 months to 2 years", "6 weeks", "6 weeks"),
        ("2 to 5 years", "13 weeks", "13 weeks"),
        ("5 years or more", "26 weeks", "26 weeks"),
        ("Apprentices", "4 weeks", "None"),
        ("Contractors", "None", "None")]
TRAINING = [("Job level", "Annual budget", "Study days"),
            ("Associate", "800", "3 days"),
            ("Professional", "1,200", "5 days"),
            ("Senior professional", "1,800", "5 days"),
            ("Manager", "2,000", "6 days"),
            ("Director", "3,000", "8 days")]

PROSE = {
    "dental": "The dental plan is provided by an insurer the company chooses each year. It pays a share of the cost of "
              "treatment by any registered dentist, up to an annual limit for each kind of treatment. Limits run per "
              "calendar year and per insured person, and family members you add have limits of their own.",
    "claims": "To claim, send the invoice through the insurer's app within 90 days of the treatment. Treatment "
              "abroad is paid at the same rates, converted on the day of the invoice.",
    "vision": "Employees who use screens for most of their working day can claim towards eye care. Keep the "
              "optician's receipt and the prescription; the allowance is paid with the next salary.",
    "annual": "The leave year runs from January to December. Your allowance grows with your years of continuous "
              "service, counted on the first day of the leave year, and unused days may be carried into the next "
              "year up to the limit shown. Carried days must be taken by the end of March.",
    "family": "Family leave is paid at your full basic pay for the weeks shown, then at the statutory rate where "
              "the law provides one. Tell the people team in writing by the notice date; later notice can delay "
              "the start of your leave.",
    "travel": "Book travel through the company's booking tool whenever you can, at least two weeks ahead for "
              "flights. Choose the lowest fare that fits the trip, and stay in hotels from the preferred list where "
              "there is one. Travel for work counts as working time; travel on a rest day earns time off in lieu. "
              "Pay with your company card, and keep every receipt: a missing receipt means the cost is yours unless "
              "your approver accepts a written explanation.",
    "limits": "The limits below apply per person and include taxes and service charges. Where a limit is marked "
              "actual cost, the reasonable cost is paid in full. Costs above a limit are paid only with the approval "
              "shown, given before the trip.",
    "submit": "Submit claims within 30 days of your return. Claims older than 90 days are not paid.",
    "sick": "Company sick pay depends on your length of continuous service on the first day of the absence. It "
            "includes any statutory sick pay and is paid for the weeks shown in any rolling twelve months.",
    "training": "Every employee has a yearly training budget and study days, set by job level. Agree courses with "
                "your manager before booking; unused budget does not carry over.",
}

DOCUMENTS = {
    "dental-and-vision-cover.pdf": [
        ("title", "Dental and Vision Cover"), ("h", "Dental plan"), ("p", PROSE["dental"]), ("table", DENTAL),
        ("p", PROSE["claims"]), ("h", "Vision care"), ("p", PROSE["vision"]), ("table", VISION)],
    "leave-entitlements.pdf": [
        ("title", "Leave Entitlements"), ("h", "Annual leave"), ("p", PROSE["annual"]), ("table", ANNUAL),
        ("h", "Family leave"), ("p", PROSE["family"]), ("table", FAMILY)],
    "travel-and-expenses.pdf": [
        ("title", "Travel and Expenses Policy"), ("h", "Before you travel"), ("p", PROSE["travel"]),
        ("p", PROSE["travel"]), ("p", PROSE["travel"]), ("h", "Limits by expense"), ("p", PROSE["limits"]),
        ("table", TRAVEL), ("p", PROSE["submit"])],
    "pay-and-development.pdf": [
        ("title", "Pay and Development"), ("h", "Sick pay"), ("p", PROSE["sick"]), ("table", SICK),
        ("h", "Training budget"), ("p", PROSE["training"]), ("table", TRAINING)],
}

# (question, the answer row's first cell): written with the tables, before anything was run
QUESTIONS = [
    ("how much does the dental plan pay for implants?", "Dental implants"),
    ("is orthodontic treatment for my kid covered and up to what amount?", "Orthodontics (under 18 only)"),
    ("what percentage of a crown does the dental insurance pay?", "Crowns and bridges"),
    ("how often can I get my eyes tested for free?", "Eye test"),
    ("how much can I claim for contact lenses?", "Contact lenses"),
    ("how many days of annual leave do I get after 10 years?", "10 to 14 years"),
    ("how much leave can I carry over if I have worked here 6 years?", "5 to 9 years"),
    ("how many weeks of paternity leave are paid?", "Paternity leave"),
    ("when do I have to give notice for adoption leave?", "Adoption leave"),
    ("how many days of bereavement leave do I get?", "Bereavement leave"),
    ("what's the hotel limit per night in a capital city?", "Hotel, capital cities"),
    ("can I claim mileage for using my own car, and at what rate?", "Own car mileage"),
    ("how much can I spend on dinner when travelling?", "Dinner"),
    ("who approves a premium economy flight?", "Premium economy, over 6 hours"),
    ("what's the daily allowance for mobile roaming?", "Mobile data roaming"),
    ("how much can I spend per guest on a client dinner?", "Client dinner"),
    ("how long do I get full sick pay after 3 years of service?", "2 to 5 years"),
    ("what is the training budget for a senior professional?", "Senior professional"),
    ("how many study days does a manager get?", "Manager"),
    ("is there a limit for parking when I travel for work?", "Parking"),
]
TABLES = [DENTAL, VISION, ANNUAL, FAMILY, TRAVEL, SICK, TRAINING]
CUTOFFS = (1, 5)


def render(items: list[tuple[str, object]], out: Path, bold_names: bool = True, table_size: float = 10.5) -> None:
    from tests.files import layout_pdf

    out.write_bytes(layout_pdf(items, bold_names=bold_names, table_size=table_size, leading=5.5, after_table=3))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def holds_row(text: str, row: tuple[str, ...]) -> bool:
    """The row's cells in order, each within 40 characters of the one before (room for a column's name)."""
    return re.search(".{0,40}?".join(re.escape(_norm(c)) for c in row), _norm(text)) is not None


def holds_names(text: str, section: str, names: tuple[str, ...]) -> bool:
    where = _norm(f"{section}\n{text}")
    return all(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", where) for name in names)


def row_of(first_cell: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    for table in TABLES:
        for row in table[1:]:
            if row[0] == first_cell:
                return table[0], row
    raise KeyError(first_cell)


def rows_report(passages: list[tuple[str, str]], tables: list[list[tuple[str, ...]]]) -> dict:
    """How many of the tables' rows no passage holds whole, and how many one holds with the column names."""
    rows = [row for table in tables for row in table[1:]]
    cut = [row[0] for row in rows if not any(holds_row(text, row) for text, _ in passages)]
    named = sum(1 for table in tables for row in table[1:]
                if any(holds_row(t, row) and holds_names(t, s, table[0]) for t, s in passages))
    return {"passages": len(passages), "table rows": len(rows), "rows cut": len(cut),
            "rows whole with their column names": named, "cut": cut}


def measure(rt) -> dict:
    with rt.db.connection() as conn:
        report = rows_report(conn.execute("SELECT text, section FROM chunks").fetchall(), TABLES)
    ranks: dict[str, list[int | None]] = {"row with its column names": [], "row": []}
    for question, first_cell in QUESTIONS:
        names, row = row_of(first_cell)
        hits = rt.searcher.search(question, max(CUTOFFS))
        ranks["row with its column names"].append(next(
            (n for n, h in enumerate(hits, 1) if holds_row(h.text, row) and holds_names(h.text, h.section, names)),
            None))
        ranks["row"].append(next((n for n, h in enumerate(hits, 1) if holds_row(h.text, row)), None))
    for kind, found in ranks.items():
        for k in CUTOFFS:
            report[f"{kind}: hit@{k}"] = round(sum(1 for r in found if r and r <= k) / len(QUESTIONS), 3)
        report[f"{kind}: misses@5"] = [q for (q, _), r in zip(QUESTIONS, found) if not r]
    return report


def main() -> None:
    settings = Settings.from_env(environ={}, dotenv_path=None)
    results = {"questions": len(QUESTIONS), "documents": len(DOCUMENTS)}
    embeddings = None
    for bold_names in (True, False):
        rendering = "bold names" if bold_names else "plain names"
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "pdf-tables"
            folder.mkdir()
            for name, items in DOCUMENTS.items():
                render(items, folder / name, bold_names)
            for variant, detect in (("tables read as lines (before)", False), ("tables kept whole (now)", True)):
                with mock.patch("knowledge.documents.pdf_layout.PDF_TABLES", detect), \
                        ingested(folder, settings, embeddings) as rt:
                    embeddings = rt.embeddings
                    results[f"{rendering}, {variant}"] = r = measure(rt)
                print(f"{rendering:11} {variant:30} passages {r['passages']:3}  rows cut {r['rows cut']:2}/"
                      f"{r['table rows']}  row+names hit@1 {r['row with its column names: hit@1']:.3f} "
                      f"hit@5 {r['row with its column names: hit@5']:.3f}  "
                      f"row hit@1 {r['row: hit@1']:.3f} hit@5 {r['row: hit@5']:.3f}")
    results["long table alone on a page"] = long_table()
    print(f"written to {write_result('pdf_tables', results)}")


def long_table() -> dict:
    from knowledge.documents.chunking import chunk_blocks
    from knowledge.documents.loaders import parse

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "travel-limits.pdf"
        render([("title", "Travel Limits"), ("p", PROSE["limits"]), ("table", TRAVEL)], path, table_size=8)
        for variant, detect in (("tables read as lines (before)", False), ("tables kept whole (now)", True)):
            with mock.patch("knowledge.documents.pdf_layout.PDF_TABLES", detect):
                doc = parse(path.name, path.read_bytes())
            chunks = chunk_blocks(doc.blocks)
            results[variant] = r = {"pages": doc.pages, **rows_report([(c.text, c.section) for c in chunks], [TRAVEL])}
            print(f"long table, {doc.pages} page {variant:30} passages {r['passages']:3}  rows cut "
                  f"{r['rows cut']:2}/{r['table rows']}  with names {r['rows whole with their column names']}")
    return results


if __name__ == "__main__":
    main()
