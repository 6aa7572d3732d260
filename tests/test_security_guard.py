"""The "someone else" guard (security finding): a Slack mention of a colleague, colleagues' names of any length and
with any particles, recognised from the records through keyed digests the runtime role cannot use, and codes such
as SA302 that are not employee ids. On a database opened as the product opens it (runtime role + owner)."""
import hashlib

import psycopg
import pytest

from bot.listeners.delivery import clean_question
from knowledge.answering.answers import REFUSAL, Asker, about_someone_else
from knowledge.database.roles import BindingKey, pads
from knowledge.operations.privacy import forget
from knowledge.people.colleagues import Colleagues, name_variants, phrases, refresh_colleague_names
from knowledge.people.imports import RecordsRejected, import_csv
from knowledge.runtime import Runtime
from tests.conftest import split_database
from tests.slack_helpers import SlackHarness, texts

HEADER = "employee_id,slack_user_id,email,name,country,department,employment_type,fte,hire_date,end_date,manager_id\n"
PEOPLE = {
    "E001": "E001,U0SAMPLE,hannah.whitfield@x.example,Hannah Whitfield,GB,Data,permanent,1.0,2019-03-04,,",
    "E020": "E020,U0BOB,bob.okafor@x.example,Bob Okafor,GB,Data,permanent,1.0,2020-01-06,,",
    "E021": "E021,,sanne.devries@x.example,Sanne de Vries,DE,Data,permanent,1.0,2020-01-06,,",
    "E022": "E022,,sanne.vanderberg@x.example,Sanne van der Berg,DE,Data,permanent,1.0,2020-01-06,,",
    "E023": "E023,,mary.watson@x.example,Mary Jane Watson,GB,Data,permanent,1.0,2020-01-06,,",
    "E024": "E024,,jose.garcia@x.example,José García López,GB,Data,permanent,1.0,2020-01-06,,",
}
HANNAH = Asker("U0SAMPLE")
FINDING = ["How much leave does <@U0BOB> have left?",
           "How much leave does Sanne de Vries have left?",
           "How much leave does Sanne van der Berg have left?",
           "How much leave does Mary Jane Watson have left?"]
NOT_EMPLOYEE_IDS = ["Does SA302 cover dental?", "Is ISO9001 training counted as working time?",
                    "Where do I find form W4?", "Does the A1 certificate cover business trips?"]


def employees_csv(*ids: str, **renamed: str) -> bytes:
    rows = [PEOPLE[i] if i not in renamed else PEOPLE[i].replace(PEOPLE[i].split(",")[3], renamed[i])
            for i in ids]
    return (HEADER + "\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def guarded(pg_server, settings, embeddings):
    """Its own database (imports and an erasure change it), split into owner and runtime role."""
    db = split_database(pg_server, "hrbot_guard")
    rt = Runtime(settings, db=db, embeddings=embeddings)
    yield rt
    db.close()


@pytest.fixture
def rt(guarded):
    import_csv(guarded.db, employees_csv(*PEOPLE), actor="test")  # everyone, as written above (names restored)
    return guarded


def refused(rt, question: str, asker: Asker = HANNAH) -> bool:
    answer = rt.answers.answer(question, asker)
    if answer.kind == "refused":
        assert answer.facts == [] and answer.citations == [] and answer.employee_id is None
    return answer.kind == "refused"


def digests(db) -> list[bytes]:
    with db.connection() as conn:  # the runtime role
        return [bytes(r[0]) for r in conn.execute("SELECT digest FROM colleague_names")]


# --- the finding's phrasings -------------------------------------------------------------------------------

@pytest.mark.parametrize("question", FINDING)
def test_each_phrasing_of_the_finding_is_refused(rt, question):
    """Before: the mention was stripped by the bot and the names passed the patterns (particles, three words),
    so the asker's own balance came back, reading like the colleague's."""
    assert refused(rt, question)


@pytest.mark.parametrize("question", [
    "how much leave has sanne van der berg got left",   # lower case: no pattern sees a name, the records do
    "sanne de vries leave balance please",
    "what about jose garcia lopez, any days left?",     # accents typed or not: one spelling
    "Compare my balance with José García",
    "anything booked by E021 in july?",                  # a colleague's id, anywhere
])
def test_colleagues_are_recognised_from_the_records(rt, question):
    own = {"Hannah Whitfield", "Hannah", "Whitfield"}
    assert not about_someone_else(question, own, {"E001", "U0SAMPLE"})  # the patterns alone let it through
    assert refused(rt, question)


def test_the_askers_own_name_and_id_are_not_someone_else(rt):
    assert not refused(rt, "I am Hannah Whitfield, how much leave do I have left?")
    assert not refused(rt, "hannah whitfield (E001): how much leave do I have left?")


def test_a_mention_is_refused_unless_it_is_the_askers_own(rt):
    assert refused(rt, "What did <@U0BOB|bob> book for August?")
    assert refused(rt, "<@U0STRANGER> how much leave do I have?")  # anyone's mention, employee or not
    assert not refused(rt, "How much leave do I have? <@U0SAMPLE>")


def test_the_bot_keeps_other_peoples_mentions_for_the_guard():
    assert clean_question("<@UBOT> how much leave does <@U0BOB> have left?", {"UBOT", "U0SAMPLE"}) == \
        "how much leave does <@U0BOB> have left?"
    assert clean_question("<@UBOT> <@U0SAMPLE|me> How much leave do I have?", {"UBOT", "U0SAMPLE"}) == \
        "How much leave do I have?"


def test_over_slack_a_mention_of_a_colleague_is_refused_and_the_askers_own_is_not(rt, fake):
    harness = SlackHarness(rt, fake)
    try:
        harness.event({"type": "app_mention", "channel": "C0GENERAL", "user": "U0SAMPLE", "ts": "1700000900.000100",
                       "text": "<@UBOT> How much leave does <@U0BOB> have left?"})
        [update] = fake.wait_for("chat.update")
        assert "only look up *your own*" in texts([update])
        assert not fake.calls_to("chat.postEphemeral")  # no personal answer went anywhere
        fake.calls.clear()
        harness.dm("U0SAMPLE", "<@U0SAMPLE> How much leave do I have?", ts="1700000901.000100")
        [answer] = fake.wait_for("chat.update")
        assert "only look up *your own*" not in texts([answer])
    finally:
        harness.close()


# --- codes that are not employee ids ------------------------------------------------------------------------

@pytest.mark.parametrize("question", NOT_EMPLOYEE_IDS)
def test_form_and_standard_codes_are_not_taken_for_employee_ids(rt, question):
    assert not about_someone_else(question, set(), set())
    assert not refused(rt, question)


@pytest.mark.parametrize("question", ["Show me the leave records for E999", "What is employee E777's balance?",
                                      "id E555: how many days left?", "Does E021 cover dental?"])
def test_an_id_where_a_person_stands_or_a_colleagues_id_is_refused(rt, question):
    """An id-shaped token is refused where a person stands, whether or not anyone has that id (so those phrasings
    tell nothing); elsewhere only a colleague's id is (E021)."""
    assert refused(rt, question)


# --- not an oracle -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("known,unknown", [
    ("How much leave does Sanne de Vries have left?", "How much leave does Sanne de Jong have left?"),
    ("How much leave does Mary Jane Watson have left?", "How much leave does Mary Jane Doe have left?"),
    ("What is Sanne van der Berg's balance?", "What is Pieter van den Broek's balance?"),
])
def test_the_refusal_is_the_same_for_a_colleague_and_for_a_name_nobody_has(rt, known, unknown):
    a, b = rt.answers.answer(known, HANNAH), rt.answers.answer(unknown, HANNAH)
    assert a.kind == b.kind == "refused"
    assert a.text == b.text == REFUSAL.format(hr_contact=rt.settings.hr_contact)
    assert (a.notice, a.facts, a.citations, a.personal) == (b.notice, b.facts, b.citations, b.personal)


def test_the_runtime_role_reads_digests_it_cannot_use_or_change(rt):
    db = rt.db
    rows = digests(db)
    assert rows and all(len(d) == 32 for d in rows)
    names = [p.split(",")[3] for p in PEOPLE.values()]
    variants = {v for n in names for v in name_variants(n)}
    keyless = {hashlib.sha256(v.encode()).digest() for v in variants}
    assert not keyless & set(rows)  # not a plain hash anyone can compute from a guessed name
    assert not any(v.encode() in d for v in variants for d in rows)
    key = db.binding_key
    assert key.mac("colleague-name", b"sanne de vries") in rows  # only the key makes a name into a row
    with db.connection() as conn:
        role = conn.execute("SELECT current_user").fetchone()[0]
        assert role == "hrbot_app"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT inner_key FROM hrbot_secrets")
    for write in ("DELETE FROM colleague_names", "INSERT INTO colleague_names VALUES (decode(repeat('00', 32), 'hex'))"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.connection() as conn:
            conn.execute(write)
    assert len(digests(db)) == len(rows)


# --- kept in step with the records ---------------------------------------------------------------------------

def test_a_records_import_updates_the_names_and_an_erasure_removes_them(rt):
    db = rt.db
    colleagues = Colleagues(db)
    assert colleagues.named(phrases("Sanne van der Berg")) and colleagues.named(phrases("Mary Jane Watson"))
    import_csv(db, employees_csv(*PEOPLE, E022="Sanne Jansen"), actor="test")  # married, renamed at source
    assert not colleagues.named(phrases("Sanne van der Berg")) and not colleagues.named(phrases("van der berg"))
    assert colleagues.named(phrases("Sanne Jansen"))
    forget(db, "E023", actor="test")  # erased on request: their name must stop being a colleague's
    assert not colleagues.named(phrases("Mary Jane Watson")) and not colleagues.named((), ["E023"])
    assert not refused(rt, "how much leave does mary jane watson have left")
    assert colleagues.named(phrases("Sanne de Vries"))  # the others are still there


def test_a_rejected_import_leaves_the_names_as_they_were(rt):
    before = sorted(digests(rt.db))
    bad = employees_csv(*PEOPLE, E021="Sanne Smit").decode() + "E030,,bad,,XX,Data,permanent,9,nope,,\n"
    with pytest.raises(RecordsRejected):
        import_csv(rt.db, bad.encode(), actor="test")
    assert sorted(digests(rt.db)) == before


def test_after_a_key_rotation_the_refresh_rewrites_every_digest(rt):
    """refresh_colleague_names(conn, key) as the owner, with the new key: the digests of the old key are gone."""
    db = rt.db
    old = db.binding_key
    new = BindingKey(*pads(b"a rotated binding key, for this test only"))
    try:
        with db.owner.connection() as conn:
            refresh_colleague_names(conn, new)
        rows = set(digests(db))
        assert new.mac("colleague-name", b"sanne de vries") in rows
        assert old.mac("colleague-name", b"sanne de vries") not in rows
    finally:
        with db.owner.connection() as conn:
            refresh_colleague_names(conn, old)
    assert Colleagues(db).named(phrases("Sanne de Vries"))


# --- The outside review's F4: a colleague's first name in lower case -------------------------------------------

@pytest.mark.parametrize("question", ["How much leave does priya have left?", "How much leave has priya got left?",
                                      "How many days has she taken this year?", "how much leave does he have left"])
def test_a_lower_case_name_or_pronoun_where_a_person_stands_is_refused(question):
    from knowledge.answering.answers import about_someone_else

    assert about_someone_else(question, {"Hannah", "Whitfield"}, {"E001"})


@pytest.mark.parametrize("question", ["How many days does it take to approve leave?", "How much leave do I have left?",
                                      "Does unused leave carry over?", "How much annual leave does one get?",
                                      "How many days of leave have I taken?", "How much sick leave has hannah left?"])
def test_policy_and_own_questions_are_not_taken_for_someone_else(question):
    from knowledge.answering.answers import about_someone_else

    assert not about_someone_else(question, {"Hannah Whitfield", "Hannah", "Whitfield"}, {"E001"})
