"""People's data over time: retention of answers holding personal records, export and erasure on request."""
import json

from knowledge.answering.answers import Answer
from knowledge.answering.conversations import ConversationLog
from knowledge.people.imports import import_csv
from tests.test_records_import import EMPLOYEES, LEAVE


def _age(db, question_id: int, days: int) -> None:
    with db.connection() as conn:
        conn.execute("UPDATE questions SET created_at = now() - make_interval(days => %s) WHERE question_id = %s",
                     [days, question_id])


def test_retention_removes_personal_answers_then_old_questions(runtime, db, invoke):
    log = ConversationLog(db)
    personal = log.record(question="How much leave do I have?", answer=Answer("17.5 days available", personal=True),
                          surface="dm", slack_user_id="U0AAA", employee_id="E901")
    policy = log.record(question="Is there a dental plan?", answer=Answer("Yes [1]"), surface="dm",
                        slack_user_id="U0AAA", employee_id="E901")
    ancient = log.record(question="Old question", answer=Answer("Old answer"), surface="dm", slack_user_id="U0BBB",
                         employee_id=None)
    for question_id in (personal, policy):
        _age(db, question_id, 31)
    _age(db, ancient, 400)
    result = invoke("retention", "prune")
    assert "the text of 1 answers" in result.output and "deleted 1 questions" in result.output
    with db.connection() as conn:
        rows = dict(conn.execute("SELECT question_id, answer FROM questions").fetchall())
    assert rows[personal].startswith("(removed after the retention period") and rows[policy] == "Yes [1]"
    assert ancient not in rows


def test_export_and_forget_one_person(runtime, db, invoke, tmp_path):
    import_csv(db, EMPLOYEES.encode())
    import_csv(db, LEAVE.encode())
    log = ConversationLog(db)
    mine = log.record(question="How much leave do I have?", answer=Answer("17.5 days", personal=True), surface="dm",
                      slack_user_id="U0AAA", employee_id="E901")
    log.feedback(mine, "U0AAA", False, "wrong number")
    theirs = log.record(question="Dental?", answer=Answer("Yes"), surface="dm", slack_user_id="U0BBB",
                        employee_id="E902")
    exported = json.loads(invoke("records", "export", "ada@X.example").output)
    assert exported["employee_ids"] == ["E901"] and exported["slack_user_ids"] == ["U0AAA"]
    assert [q["question"] for q in exported["questions"]] == ["How much leave do I have?"]
    assert exported["feedback"][0]["comment"] == "wrong number" and exported["leave"]
    assert "Bruno" not in json.dumps(exported)
    result = invoke("records", "forget", "U0AAA", "--yes")
    assert "Erased 1 employee records, 1 questions and 1 ratings" in result.output
    with db.connection() as conn:
        assert [r[0] for r in conn.execute("SELECT question_id FROM questions")] == [theirs]
        assert conn.execute("SELECT employee_id FROM employees").fetchall() == [("E902",)]
        assert conn.execute("SELECT count(*) FROM leave_records WHERE employee_id = 'E901'").fetchone() == (0,)
        left = conn.execute("SELECT count(*) FROM audit_log WHERE lower(actor) IN ('u0aaa', 'e901', 'ada@x.example') "
                            "OR lower(target) IN ('u0aaa', 'e901', 'ada@x.example')").fetchone()[0]
    assert left == 0  # what must stay keeps a one-way hash instead
    entries = json.loads(invoke("audit", "--json").output)
    pseudonyms = {e["target"] for e in entries if e["action"] in ("records_export", "records_forget")}
    assert len(pseudonyms) == 1 and pseudonyms.pop().startswith("erased:")


def test_forget_leaves_none_of_their_ids_anywhere_in_the_audit_log(runtime, db, invoke):
    """Erasure reaches inside `details` too: the export's id lists, an operator's `as_user`, and any other key that
    held one of the person's ids (in any case, alone or inside a longer text), in every row; a colleague's ids and
    ids that merely begin like theirs stay."""
    from knowledge.database import audit

    import_csv(db, EMPLOYEES.encode())
    invoke("records", "export", "ada@x.example")                      # employees=[E901], slack_user_ids=[U0AAA]
    audit.record(db, "cli:hr", "read_records", "E901", as_user="U0AAA")
    audit.record(db, "U0BBB", "read_records", "E902", about={"people": ["E902", "e901"], "mail": "ADA@X.Example"},
                 note="asked for u0aaa by E902", unrelated="E9010")
    audit.record(db, "cli:hr", "note", None, **{"U0AAA": True})
    invoke("records", "forget", "E901", "--yes")
    ids = ("e901", "u0aaa", "ada@x.example")
    with db.connection() as conn:
        rows = conn.execute("SELECT actor, coalesce(target, ''), details::text FROM audit_log").fetchall()
    import re

    leaks = [row for row in rows for field in row for i in ids
             if re.search(rf"(?<![a-z0-9]){re.escape(i)}(?![a-z0-9])", field.lower())]
    assert leaks == []
    kept = json.dumps(rows)
    assert "E902" in kept and "U0BBB" in kept and "E9010" in kept
