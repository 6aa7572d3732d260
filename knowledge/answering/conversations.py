"""The conversation log: questions and answers, feedback, hand-offs to HR (events handled: events.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from knowledge.answering.answers import Answer
from knowledge.database.connection import Database

RECORD_QUESTION = """
INSERT INTO questions (slack_user_id, employee_id, surface, question, answer, kind, supported, citations, personal)
VALUES (%(slack_user_id)s, %(employee_id)s, %(surface)s, %(question)s, %(answer)s, %(kind)s, %(supported)s,
        %(citations)s, %(personal)s)
RETURNING question_id"""
# Not the answer: the runtime role cannot read logged answers (one may hold the asker's balance), and nothing
# that reads a logged question needs it.
GET_QUESTION = """
SELECT question_id, slack_user_id, surface, question, supported, citations, created_at
FROM questions WHERE question_id = %(question_id)s"""
RECORD_FEEDBACK = """
INSERT INTO feedback (question_id, slack_user_id, helpful, comment)
VALUES (%(question_id)s, %(slack_user_id)s, %(helpful)s, %(comment)s)
ON CONFLICT (question_id, slack_user_id) DO UPDATE
SET helpful = excluded.helpful, comment = coalesce(excluded.comment, feedback.comment), created_at = now()"""
RECORD_ESCALATION = """
INSERT INTO escalations (question_id, slack_user_id, destination)
VALUES (%(question_id)s, %(slack_user_id)s, %(destination)s)
ON CONFLICT (question_id) DO NOTHING RETURNING escalation_id"""


@dataclass(frozen=True)
class LoggedQuestion:
    question_id: int
    slack_user_id: str | None
    surface: str
    question: str
    supported: bool
    citations: list
    created_at: object


class ConversationLog:
    def __init__(self, db: Database):
        self.db = db

    def record(self, *, question: str, answer: Answer, surface: str, slack_user_id: str | None,
               employee_id: str | None = None) -> int:
        citations = [{"n": c.n, "source": c.source, "page": c.page, "section": c.section,
                      "document_id": c.document_id} for c in answer.citations]
        with self.db.connection() as conn:
            return conn.execute(RECORD_QUESTION, {
                "slack_user_id": slack_user_id, "employee_id": employee_id, "surface": surface,
                "question": question, "answer": answer.text, "kind": answer.kind, "supported": answer.supported,
                "citations": json.dumps(citations), "personal": answer.personal}).fetchone()[0]

    def get(self, question_id: int) -> LoggedQuestion | None:
        with self.db.connection() as conn:
            row = conn.execute(GET_QUESTION, {"question_id": question_id}).fetchone()
        return LoggedQuestion(*row) if row else None

    def feedback(self, question_id: int, slack_user_id: str, helpful: bool, comment: str | None = None) -> None:
        with self.db.connection() as conn:
            conn.execute(RECORD_FEEDBACK, {"question_id": question_id, "slack_user_id": slack_user_id,
                                           "helpful": helpful, "comment": comment})

    def escalate(self, question_id: int, slack_user_id: str, destination: str, send: Callable[[], None]) -> bool:
        """Hand a question to HR: send() runs inside the transaction that records it, so a send that raises
        leaves no record (the next click tries again), and a concurrent double click waits on the row and
        then finds it. False if this question was already sent."""
        with self.db.connection() as conn:
            recorded = conn.execute(RECORD_ESCALATION, {"question_id": question_id, "slack_user_id": slack_user_id,
                                                        "destination": destination}).fetchone() is not None
            if recorded:
                send()
        return recorded
