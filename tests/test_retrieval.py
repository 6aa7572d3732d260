"""Retrieval over the shipped sample content: gold passages found, typos forgiven, hybrid beats vector-only."""
import json

import pytest

from knowledge.desks.operations import OperationsDesk
from knowledge.search.evaluation import TRANSLATED_SET, evaluate, is_gold, load_questions
from knowledge.answering.retriever import PolicyRetriever
from knowledge.search.retrieval import HybridSearcher

QUESTIONS = load_questions()


def gold(question_start: str):
    return next(q for q in QUESTIONS if q.question.startswith(question_start))


@pytest.mark.parametrize("start", [
    "how mnay vacaton days",                 # typos
    "I'm in Berlin, how many days of holiday",
    "UK: I'll have 7 days holiday left",
    "how many KIT days",
    "can i fly business class",
])
def test_gold_passage_is_in_the_top_five(sample_runtime, start):
    question = gold(start)
    hits = sample_runtime.searcher.search(question.question, 5)
    assert any(is_gold(h, question) for h in hits), [(h.source, h.page, h.section) for h in hits]


def test_dental_implants_answer_cites_the_benefits_pdf_page(sample_runtime):
    [top] = sample_runtime.searcher.search("Does our dental plan cover implants?", 1, audiences=["GB"])
    assert top.source == "benefits-guide-2026.pdf"
    assert "implant" in top.text.lower()
    assert top.page is not None and top.page_start <= top.page <= top.page_end


def test_hybrid_beats_vector_only_on_the_evaluation_set(sample_runtime):
    report = evaluate(sample_runtime.searcher, QUESTIONS, k=5)
    hybrid, vector = report["modes"]["hybrid"], report["modes"]["vector"]
    assert report["questions"] >= 40
    assert hybrid["hit@5"] >= 0.9
    # since two passages of one page or section are one result (issue 27), vector-only reaches hybrid's hit@5 on
    # this set (0.934 both); hybrid still ranks the gold passage higher
    assert hybrid["hit@5"] >= vector["hit@5"] and hybrid["hit@3"] > vector["hit@3"] and hybrid["mrr"] > vector["mrr"]


def test_langchain_retriever_returns_documents_with_citation_metadata(sample_runtime):
    retriever = PolicyRetriever(searcher=sample_runtime.searcher, k=3, audiences=["DE"])
    docs = retriever.invoke("Zahnimplantate ZahnPlus waiting period")
    assert len(docs) == 3
    assert docs[0].metadata["source"] == "benefits-guide-2026.pdf"
    assert {"source", "page", "section", "document_id", "score"} <= set(docs[0].metadata)


def test_bm25_statistics_stay_exact_through_replace_and_remove(runtime, tmp_path, db):
    (tmp_path / "a.md").write_text("# A\n\n## One\n\nVacation days carry over.\n")
    (tmp_path / "b.md").write_text("# B\n\n## Two\n\nVacation requests need approval.\n")
    runtime.ingestor.ingest_paths([tmp_path])
    (tmp_path / "a.md").write_text("# A\n\n## One\n\nSabbatical after five years.\n")
    runtime.ingestor.ingest_paths([tmp_path / "a.md"])
    runtime.ingestor.remove("b.md")
    with db.connection() as conn:
        stored = dict(conn.execute("SELECT lexeme, chunks FROM lexeme_stats WHERE chunks > 0").fetchall())
        actual = dict(conn.execute(
            "SELECT u.lexeme, count(*) FROM chunks, unnest(tsv) u GROUP BY u.lexeme").fetchall())
        corpus = conn.execute("SELECT chunks, tokens FROM corpus_stats").fetchone()
        expected = conn.execute("SELECT count(*), sum(tokens) FROM chunks").fetchone()
    assert stored == actual and "vacat" not in stored
    assert corpus == expected


def test_cli_eval_prints_all_modes(sample_runtime, invoke):
    result = invoke("eval", "retrieval", "--json", rt=sample_runtime)
    report = json.loads(result.output)
    assert set(report["modes"]) == {"hybrid", "vector", "fulltext", "rrf"}
    text = invoke("eval", "retrieval", rt=sample_runtime).output
    assert "hybrid" in text and "hit@5" in text


def test_eval_refuses_when_gold_documents_are_missing(invoke):
    from knowledge.errors import HRBotError

    with pytest.raises(HRBotError, match="hrbot ingest --samples"):
        invoke("eval", "retrieval")


GERMAN = load_questions(TRANSLATED_SET)


def test_german_questions_find_the_english_policies(sample_runtime):
    """The policies are in English; employees in Germany ask in German. The multilingual second embedding finds
    the gold passage for most of the 25 German questions (0.88 measured, docs/benchmarks.md); without it the
    English-only model and full text find far fewer."""
    assert len(GERMAN) >= 20
    found = sum(any(is_gold(h, q) for h in sample_runtime.searcher.search(q.question, 5)) for q in GERMAN)
    english_only = HybridSearcher(sample_runtime.db, sample_runtime.embeddings, multilingual=None)
    found_without = sum(any(is_gold(h, q) for h in english_only.search(q.question, 5)) for q in GERMAN)
    assert found / len(GERMAN) >= 0.8, found
    assert found >= found_without + 5, (found, found_without)


def test_every_passage_gets_a_multilingual_vector_and_old_ones_are_filled_in(runtime, tmp_path, db):
    (tmp_path / "volunteering.md").write_text(
        "# Handbook\n\n## Volunteering days\n\nEvery employee gets two paid volunteering days a year.\n\n"
        "## Jury service\n\nYou keep your full salary while on jury service.\n")
    [result] = runtime.ingestor.ingest_paths([tmp_path / "volunteering.md"])
    assert result.status == "added"
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM chunks WHERE embedding_ml IS NULL").fetchone()[0] == 0
        conn.execute("UPDATE chunks SET embedding_ml = NULL")  # as stored before migration 0010
    hits = runtime.searcher.search("Bekomme ich mein Gehalt, wenn ich als Schöffe zum Gericht muss?", 1)
    assert hits  # still answers from the English-only space meanwhile
    operations = OperationsDesk(runtime)
    assert operations.complete_vectors() == result.chunks
    assert operations.complete_vectors() == 0  # nothing left: a cheap no-op
    [top] = runtime.searcher.search("Bekomme ich mein Gehalt, wenn ich als Schöffe zum Gericht muss?", 1)
    assert top.section.endswith("Jury service")
