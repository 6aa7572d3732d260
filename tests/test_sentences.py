"""Each passage's sentences and their vectors live in PostgreSQL beside it (issue 24): written when the passage is
stored, replaced and removed with it, filled in for passages stored before, never readable where the passage is
not, and read with the search candidates so a fresh process embeds no passage sentence while answering."""
import logging

import numpy as np
import psycopg
import pytest

from knowledge.answering.answers import Asker
from knowledge.answering.chain import AnswerService
from knowledge.database.roles import RUNTIME_ROLE
from knowledge.desks.operations import OperationsDesk
from knowledge.runtime import Runtime
from knowledge.search import sentences
from tests.conftest import split_database

POLICY = ("# Leave policy\n\n## Carry-over\n\nUp to five days carry over into the next year. Unused days beyond "
          "that lapse on 31 March.\n\n## Booking\n\nBook leave in the HR system. Your manager approves it within "
          "two working days.\n\n## Who it covers\n\n- Permanent employees\n- Fixed-term employees\n")
STORED = """
SELECT s.chunk_id, s.position, s.text, s.page, s.embedding, c.section, c.text
FROM passage_sentences s JOIN chunks c USING (chunk_id) ORDER BY c.ordinal, s.position"""


def stored(db):
    with db.connection() as conn:
        return conn.execute(STORED).fetchall()


def ingest(runtime, tmp_path, name, text, audience=None):
    (tmp_path / name).write_text(text)
    [result] = runtime.ingestor.ingest_paths([tmp_path / name], audience=audience)
    assert result.status in ("added", "replaced"), result.reason
    return result


def test_ingest_stores_every_passage_sentence_with_its_vector(runtime, db, tmp_path, embeddings):
    ingest(runtime, tmp_path, "leave.md", POLICY)
    rows = stored(db)
    with db.connection() as conn:
        chunks = conn.execute("SELECT chunk_id, section, text FROM chunks ORDER BY ordinal").fetchall()
    expected = [(chunk_id, pair) for chunk_id, section, text in chunks
                for pair in sentences.passage_sentences(text, section)]
    assert [(r[0], r[2]) for r in rows] == [(chunk_id, quoted) for chunk_id, (quoted, _) in expected]
    judged = [j for _, (_, j) in expected]
    assert "Who it covers: - Permanent employees" in judged  # a list item is judged under its heading
    vectors = np.vstack([r[4].to_numpy().astype(np.float32) for r in rows])
    assert np.allclose(vectors, embeddings.embed_array(judged), atol=2e-3)
    assert all(r[3] is None for r in rows)  # Markdown has no pages
    with db.connection() as conn:  # typed to the space's dimension, as chunks.embedding is
        assert conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                            "'passage_sentences'::regclass AND attname = 'embedding'").fetchone()[0] == "halfvec(384)"
        assert sentences.missing(conn) == 0


def test_a_sentence_knows_its_page_from_the_chunks_page_starts():
    text = "The plan pays 50% of crowns. It ends at the page break.\nNew page, new rule. And another."
    found = sentences.split(text, "Dental", page_start=3, page_end=4, page_starts=[[0, 3], [text.index("New"), 4]])
    assert [(s.text, s.page) for s in found] == [("The plan pays 50% of crowns.", 3),
                                                 ("It ends at the page break.", 3), ("New page, new rule.", 4),
                                                 ("And another.", 4)]
    assert [s.page for s in sentences.split(text, "Dental", page_start=3, page_end=4)] == [None] * 4
    assert [s.page for s in sentences.split(text, "Dental", page_start=2, page_end=2)] == [2] * 4


def test_reingest_replaces_the_sentences_and_removal_deletes_them(runtime, db, tmp_path):
    ingest(runtime, tmp_path, "leave.md", POLICY)
    before = stored(db)
    ingest(runtime, tmp_path, "leave.md", POLICY.replace("five days", "ten days"))
    after = stored(db)
    assert {r[0] for r in before}.isdisjoint(r[0] for r in after)  # the old version's sentences are gone
    texts = [r[2] for r in after]
    assert "Up to ten days carry over into the next year." in texts
    assert not any("five days" in t for t in texts) and len(after) == len(before)
    runtime.ingestor.remove("leave.md")
    assert stored(db) == []


def test_passages_stored_before_the_migration_are_filled_in(runtime, db, tmp_path, invoke):
    result = ingest(runtime, tmp_path, "leave.md", POLICY)
    written = stored(db)
    with db.connection() as conn:
        conn.execute("DELETE FROM passage_sentences")  # as an upgraded knowledge base has them
        assert sentences.missing(conn) == result.chunks
    assert f"{result.chunks} passages without stored sentence vectors" in invoke("doctor", "--no-slack").output
    assert OperationsDesk(runtime).complete_vectors() == result.chunks
    filled = stored(db)
    assert [(r[0], r[1], r[2]) for r in filled] == [(r[0], r[1], r[2]) for r in written]
    assert all(np.array_equal(a[4].to_numpy(), b[4].to_numpy()) for a, b in zip(filled, written))
    assert OperationsDesk(runtime).complete_vectors() == 0  # nothing left: a cheap no-op
    assert "without stored sentence vectors" not in invoke("doctor", "--no-slack").output


def test_a_passage_without_stored_sentences_is_still_judged_by_meaning(runtime, db, tmp_path, caplog):
    ingest(runtime, tmp_path, "leave.md", POLICY)
    with db.connection() as conn:
        conn.execute("DELETE FROM passage_sentences")
    sentences._warned = False
    with caplog.at_level(logging.WARNING, logger="knowledge.search.sentences"):
        answer = runtime.answers.answer("how quickly is a leave request approved", Asker(None))
        runtime.answers.answer("can I carry days over", Asker(None))
    assert "approves it within two working days" in answer.text
    assert sum("no stored sentence vectors" in r.getMessage() for r in caplog.records) == 1  # logged once


@pytest.fixture(scope="module")
def split_runtime(pg_server, settings, embeddings):
    """A database opened as the product opens it: the runtime role answers, the owner ingests."""
    db = split_database(pg_server, "hrbot_sentences")
    yield Runtime(settings, db=db, embeddings=embeddings)
    db.close()


def test_the_runtime_role_reads_sentences_only_where_it_reads_their_passage(split_runtime, tmp_path):
    rt = split_runtime
    ingest(rt, tmp_path, "uk.md", POLICY, audience="GB")
    ingest(rt, tmp_path, "de.md", POLICY.replace("Leave policy", "Urlaub").replace("five", "six"), audience="DE")
    hits = rt.searcher.search("how many days carry over", 5, audiences=["GB"])
    assert hits and all(h.source == "uk.md" for h in hits)
    assert all("six" not in " ".join(h.sentences.texts) for h in hits if h.sentences is not None)
    with rt.db.connection() as conn:  # the runtime role: reads, never writes
        assert conn.execute("SELECT current_user").fetchone()[0] == RUNTIME_ROLE
        for statement in ("DELETE FROM passage_sentences", "UPDATE passage_sentences SET text = 'x'",
                          "INSERT INTO passage_sentences (chunk_id, position, text) SELECT chunk_id, 99, 'x' FROM chunks"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
    # Whatever keeps a passage from the runtime role keeps its sentences too: with a policy on chunks hiding one
    # audience, that audience's sentences are not there for it either (rolled back: chunks carry no such policy).
    with rt.db.owner.connection() as conn:
        total = conn.execute("SELECT count(*) FROM passage_sentences").fetchone()[0]
        conn.execute("ALTER TABLE chunks ENABLE ROW LEVEL SECURITY")
        conn.execute(f"CREATE POLICY not_de ON chunks FOR SELECT TO {RUNTIME_ROLE} USING (audience IS DISTINCT FROM 'DE')")
        conn.execute(f"SET LOCAL ROLE {RUNTIME_ROLE}")
        seen = conn.execute("SELECT s.text, c.audience FROM passage_sentences s "
                            "LEFT JOIN chunks c USING (chunk_id)").fetchall()
        unfiltered = conn.execute("SELECT count(*) FROM passage_sentences").fetchone()[0]
        conn.rollback()
    assert seen and all(audience == "GB" for _, audience in seen)
    assert not any("six" in text for text, _ in seen)
    assert 0 < unfiltered < total


class Counting:
    """Wraps a model's embed_array to record every text it is asked to embed."""

    def __init__(self, monkeypatch, model):
        self.texts: list[str] = []
        original = model.embed_array

        def embed_array(texts):
            self.texts.extend(texts)
            return original(texts)

        monkeypatch.setattr(model, "embed_array", embed_array)


def test_a_fresh_process_answers_without_embedding_any_passage_sentence(sample_runtime, monkeypatch):
    """A new AnswerService and searcher (what a fresh process, a worker or a second replica builds) over the
    sample company: the models embed the questions (and the asker's facts), never a passage's sentence."""
    rt = sample_runtime
    fresh = Runtime(rt.settings, db=rt.db, embeddings=rt.embeddings, profile=rt.profile)
    service = AnswerService(fresh.searcher, fresh.records, fresh.settings, fresh.profile)
    assert fresh.searcher.reranker is not None and set(service.scorers) == {"primary", "multilingual"}
    primary, multilingual = Counting(monkeypatch, rt.embeddings), Counting(monkeypatch, fresh.multilingual)
    with rt.db.connection() as conn:
        every_sentence = {t for (t,) in conn.execute("SELECT text FROM passage_sentences")}
        chunks = conn.execute("SELECT text, section FROM chunks").fetchall()
    judged = {j for text, section in chunks for _, j in sentences.passage_sentences(text, section)}
    questions = ["Does the dental plan cover implants?", "can I work from Spain for a month?",
                 "How much annual leave do I have?", "Wie viele Urlaubstage habe ich?", "how much sick pay do I get"]
    answers = [service.answer(q, Asker("U0SAMPLE")) for q in questions]
    assert all(a.kind == "answer" and "> " in a.text for a in answers), [a.text for a in answers]
    embedded = primary.texts + multilingual.texts
    assert not (set(embedded) & (every_sentence | judged)), set(embedded) & (every_sentence | judged)
    assert len(embedded) <= 3 * len(questions) + 2  # search query, question, facts: nothing per sentence


def test_a_passage_of_thousands_of_tiny_sentences_stores_a_bounded_number():
    """Outside review: "Ab. " x 20,000 took over 5 minutes to ingest, one model input per "sentence"; the store
    keeps MAX_SENTENCES a passage, the rest as its last one (all of the text still quotable)."""
    text = "Ab. " * 170
    found = sentences.split(text, "Hostile")
    assert len(found) == sentences.MAX_SENTENCES
    assert " ".join(s.text for s in found).split() == text.split()
    assert [s.position for s in found] == list(range(sentences.MAX_SENTENCES))


def test_the_upgrade_stores_the_sentences_of_passages_stored_before(runtime, db, tmp_path, invoke):
    """Outside review: after an upgrade, passages without stored sentences were embedded by every fresh process
    until the worker's hourly job ran; `hrbot db upgrade` now fills them (SQL cannot embed)."""
    result = ingest(runtime, tmp_path, "leave.md", POLICY)
    with db.connection() as conn:
        conn.execute("DELETE FROM passage_sentences")
    output = invoke("db", "upgrade").output
    assert f"Stored the sentences of {result.chunks} passages" in output
    with db.connection() as conn:
        assert sentences.missing(conn) == 0
    assert "Storing" not in invoke("db", "upgrade").output  # nothing missing: nothing said, nothing done
