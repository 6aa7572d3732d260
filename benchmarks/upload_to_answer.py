"""From a 100-page PDF shared in Slack to the first answer citing it, with questions arriving meanwhile.

A real `hrbot serve --http` subprocess (worker thread included, offline answerer, embedded PostgreSQL) and a
fake Slack Web API that serves the file. An HR admin shares a generated 100-page policy PDF; while it is being
ingested, an employee asks 5 questions a second for 20 seconds (their acks must stay inside Slack's 3 s).
Once the bot reports the upload, the employee asks about a rule that only page 87 contains.

    python benchmarks/upload_to_answer.py
"""
from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import ServedBot, benchmark_database, stop_database, summary_ms, write_result  # noqa: E402
from tests.fakes.slack_api import FakeSlack, event_body  # noqa: E402

FACT = ("Employees with seven years of continuous service may take a paid sabbatical of twenty working days, "
        "which must be requested from the People team at least three months ahead.")
WORDS = ("leave policy employees manager approval request days year notice payroll benefits team office travel "
         "expenses training review contract probation salary overtime holiday absence report records").split()


def hundred_page_pdf() -> bytes:
    from fpdf import FPDF

    random.seed(3)
    pdf = FPDF(format="A4")
    pdf.set_title("Operations Handbook 2026")
    for page in range(1, 101):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 13)
        heading = "Sabbatical leave" if page == 87 else f"Operations topic {page}"
        pdf.multi_cell(0, 8, f"{page}. {heading}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        if page == 87:
            pdf.multi_cell(0, 5, FACT, new_x="LMARGIN", new_y="NEXT")
        for _ in range(6):
            sentence = " ".join(random.choice(WORDS) for _ in range(55)).capitalize() + "."
            pdf.multi_cell(0, 5, sentence, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def main() -> None:
    url, server = benchmark_database("upload")
    pdf = hundred_page_pdf()
    users = {"U0ADMIN": {"email": "admin@x.example", "real_name": "Admin"},
             "U0ASKER": {"email": "asker@x.example", "real_name": "Asker"}}
    with FakeSlack(users=users) as fake:
        fake.add_file("FBIG100", "operations-handbook-2026.pdf", pdf)
        with ServedBot(url, fake.base_url, port=3990 + random.randrange(9), HRBOT_ADMINS="U0ADMIN") as bot:
            share = {"type": "message", "subtype": "file_share", "channel_type": "im", "channel": "DU0ADMIN",
                     "user": "U0ADMIN", "ts": "1700009000.000100", "text": "",
                     "files": [{"id": "FBIG100", "name": "operations-handbook-2026.pdf"}]}
            shared_at = time.perf_counter()
            status, share_ack = bot.post_event(event_body(share, "EvUPLOAD1"))
            acks: list[float] = []

            def ask_meanwhile() -> None:
                for i in range(100):
                    event = {"type": "message", "channel_type": "im", "channel": f"DASK{i:03d}", "user": "U0ASKER",
                             "text": "How do I request annual leave?", "ts": f"17000091{i:02d}.000100"}
                    acks.append(bot.post_event(event_body(event, f"EvMEANWHILE{i:03d}"))[1])
                    time.sleep(0.2)

            askers = threading.Thread(target=ask_meanwhile)
            askers.start()
            summary_at = None
            while time.perf_counter() - shared_at < 600:
                if any("operations-handbook-2026.pdf" in (c.args.get("text") or "") and
                       c.args.get("channel") == "DU0ADMIN" and "added" in (c.args.get("text") or "")
                       for c in fake.calls_to("chat.postMessage")):
                    summary_at = time.perf_counter()
                    break
                time.sleep(0.1)
            question = {"type": "message", "channel_type": "im", "channel": "DFACT", "user": "U0ASKER",
                        "text": "Can I take a sabbatical after seven years?", "ts": "1700009500.000100"}
            bot.post_event(event_body(question, "EvFACT1"))
            cited_at, cited_page, shown = None, None, None
            while time.perf_counter() - shared_at < 600 and shown is None:
                for call in fake.calls_to("chat.update"):
                    if call.args.get("channel") == "DFACT":
                        shown = json.dumps(call.args.get("blocks"))
                        if "Operations Handbook 2026" in shown:
                            cited_at = time.perf_counter()
                            cited_page = "p. 87" in shown
                        break
                time.sleep(0.05)
            askers.join()
            result = {
                "pdf_pages": 100, "pdf_bytes": len(pdf), "share_ack_ms": round(share_ack * 1000, 1),
                "seconds_to_upload_summary": round(summary_at - shared_at, 2) if summary_at else None,
                "seconds_to_first_cited_answer": round(cited_at - shared_at, 2) if cited_at else None,
                "cited_page_87": cited_page, "acks_while_ingesting": summary_ms(acks),
                "answer_excerpt": (shown or "")[:300] if not cited_at else None,
            }
    path = write_result("upload_to_answer", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    stop_database(server)


if __name__ == "__main__":
    main()
