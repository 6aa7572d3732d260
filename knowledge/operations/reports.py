"""What HR should write next (gaps) and how the assistant is used (stats), from the conversation log."""
from __future__ import annotations

import numpy as np

from knowledge.database.connection import Database

GAP_QUESTIONS = """
SELECT q.question
FROM questions q
WHERE q.created_at >= now() - make_interval(days => %(days)s)
  AND q.kind NOT IN ('refused', 'error')
  AND (NOT q.supported OR EXISTS (SELECT 1 FROM feedback f WHERE f.question_id = q.question_id AND NOT f.helpful))
ORDER BY q.created_at DESC
LIMIT 2000"""
PER_DAY = """
SELECT date_trunc('day', created_at)::date AS day, count(*) FROM questions
WHERE created_at >= now() - make_interval(days => %(days)s) GROUP BY 1 ORDER BY 1"""
TOTALS = """
SELECT count(*) FILTER (WHERE kind NOT IN ('refused', 'error')),
       count(*) FILTER (WHERE supported AND kind = 'answer'),
       (SELECT count(*) FROM feedback WHERE created_at >= now() - make_interval(days => %(days)s)),
       (SELECT avg(helpful::int) FROM feedback WHERE created_at >= now() - make_interval(days => %(days)s))
FROM questions WHERE created_at >= now() - make_interval(days => %(days)s)"""
TOP_SOURCES = """
SELECT c->>'source' AS source, count(*) FROM questions q, jsonb_array_elements(q.citations) c
WHERE q.created_at >= now() - make_interval(days => %(days)s)
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"""
SIMILAR = 0.72  # cosine similarity at which two questions count as the same need


def gaps(db: Database, embeddings, days: int = 30) -> list[dict]:
    """Unanswered or unhelpful questions, grouped by meaning (greedy, by embedding), most frequent first."""
    with db.connection() as conn:
        questions = [r[0] for r in conn.execute(GAP_QUESTIONS, {"days": days})]
    if not questions:
        return []
    vectors = np.asarray(embeddings.embed_documents(questions), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    groups: list[dict] = []
    centres: list[np.ndarray] = []
    for question, vector in zip(questions, vectors):
        best = int(np.argmax([c @ vector for c in centres])) if centres else -1
        if best >= 0 and float(centres[best] @ vector) >= SIMILAR:
            groups[best]["questions"].append(question)
            n = len(groups[best]["questions"])
            centre = centres[best] * (n - 1) / n + vector / n
            centres[best] = centre / (np.linalg.norm(centre) or 1.0)
        else:
            groups.append({"questions": [question]})
            centres.append(vector)
    for group in groups:
        group["count"] = len(group["questions"])
        group["questions"] = list(dict.fromkeys(group["questions"]))
    return sorted(groups, key=lambda g: -g["count"])


def stats(db: Database, days: int = 30) -> dict:
    with db.connection() as conn:
        per_day = [{"day": d, "questions": n} for d, n in conn.execute(PER_DAY, {"days": days})]
        asked, answered, feedback, helpful = conn.execute(TOTALS, {"days": days}).fetchone()
        sources = [{"source": s, "citations": n} for s, n in conn.execute(TOP_SOURCES, {"days": days})]
    return {"questions": asked, "answered_share": (answered / asked) if asked else None,
            "feedback": feedback, "helpful_rate": float(helpful) if helpful is not None else None,
            "per_day": per_day, "top_sources": sources}
