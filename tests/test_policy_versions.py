"""Policy versions with effective dates (issue 26, item 5): a version scheduled for a later day answers only from that
day, and only for questions about it; the version it replaces stays citable for the days before; answers say which
version they quote. Through the CLI (`hrbot ingest --effective`, `hrbot ask --json --today`, `hrbot docs`, `hrbot
remove --version`) and through Slack (an admin's file with "effective YYYY-MM-DD", signed events, the fake Slack)."""
import json
from datetime import date

import pytest

from knowledge.errors import NotFound

from tests.slack_helpers import texts

V1 = "# Remote Work Policy\n\n## Working from home\n\nEmployees may work from home up to two days a week.\n"
V2 = "# Remote Work Policy\n\n## Working from home\n\nEmployees may work from home up to four days a week.\n"
QUESTION = "How many days a week can I work from home?"
BEFORE, AFTER = "2026-06-01", "2027-02-01"  # the injected clock: before and after v2 takes effect on 1 January 2027


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def versions(invoke, tmp_path):
    """remote-work.md v1 (no date) and v2 in force from 2027-01-01, both through `hrbot ingest`."""
    first = invoke("ingest", str(write(tmp_path / "", "remote-work.md", V1)), "--json")
    (tmp_path / "v2").mkdir()
    second = invoke("ingest", "--effective", "2027-01-01", str(write(tmp_path / "v2", "remote-work.md", V2)), "--json")
    assert first.exit_code == 0 and second.exit_code == 0, (first.output, second.output)
    [added] = json.loads(second.output)["results"]
    assert (added["status"], added["version"], added["effective_from"]) == ("added", 2, "2027-01-01")
    return tmp_path


def ask(invoke, question: str, today: str) -> dict:
    result = invoke("ask", question, "--as", "U0NOBODY", "--today", today, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def stats_are_exact(db) -> None:
    """BM25's statistics match the chunks stored, whatever versions came and went (kept by triggers)."""
    with db.connection() as conn:
        assert conn.execute("SELECT chunks FROM corpus_stats").fetchone()[0] == \
            conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        assert conn.execute("""
            SELECT count(*) FROM (SELECT u.lexeme, count(*) AS n FROM chunks, unnest(tsv) u GROUP BY u.lexeme) real
            FULL JOIN (SELECT lexeme, chunks AS n FROM lexeme_stats WHERE chunks > 0) kept USING (lexeme)
            WHERE real.n IS DISTINCT FROM kept.n""").fetchone()[0] == 0


def test_today_answers_from_the_version_in_force_and_mentions_the_change(versions, invoke):
    answer = ask(invoke, QUESTION, BEFORE)
    assert "two days" in answer["answer"] and "four days" not in answer["answer"]
    assert "in force until 1 January 2027" in answer["answer"]
    [citation] = answer["citations"]
    assert (citation["version"], citation["effective_from"], citation["effective_until"]) == (1, None, "2027-01-01")


@pytest.mark.parametrize("asked", [f"{QUESTION[:-1]} from 1 January 2027?", f"{QUESTION[:-1]} next year?",
                                   f"{QUESTION[:-1]} in 2027?"])
def test_a_question_about_a_later_day_answers_from_the_scheduled_version_and_says_so(versions, invoke, asked):
    answer = ask(invoke, asked, BEFORE)
    assert "four days" in answer["answer"] and "two days" not in answer["answer"], asked
    assert "This is the policy in force from 1 January 2027" in answer["answer"]
    [citation] = answer["citations"]
    assert (citation["version"], citation["effective_from"], citation["effective_until"]) == (2, "2027-01-01", None)


def test_after_the_date_the_new_version_answers_and_the_old_one_stays_citable(versions, invoke):
    answer = ask(invoke, QUESTION, AFTER)
    assert "four days" in answer["answer"] and "two days" not in answer["answer"]
    assert answer["citations"][0]["version"] == 2
    assert "This is the policy in force from 1 January 2027" in answer["answer"]  # still says so once in force
    earlier = ask(invoke, f"{QUESTION[:-1]} on 1 December 2026?", AFTER)
    assert "two days" in earlier["answer"] and "four days" not in earlier["answer"]
    assert earlier["citations"][0]["version"] == 1
    assert "in force until 1 January 2027" in earlier["answer"]


@pytest.mark.parametrize("question, day", [
    ("What is the policy next year?", date(2027, 1, 1)), ("Was gilt nächstes Jahr?", date(2027, 1, 1)),
    ("What applies in 2028?", date(2028, 1, 1)), ("What applies in 2026?", date(2026, 6, 1)),
    ("Was gilt ab 1. April 2027?", date(2027, 4, 1)), ("What applies from 1 April?", date(2027, 4, 1)),
    ("Is a bonus of 2000 euros in 2000 taxed?", date(2026, 6, 1)), ("How much leave do I get?", date(2026, 6, 1))])
def test_the_day_a_question_asks_about(runtime, question, day):
    from knowledge.answering.versions import asked_day

    assert asked_day(question, runtime.profile, None, date(2026, 6, 1)) == day


def test_search_takes_the_day_as_a_parameter(versions, runtime):
    def texts_on(day):
        return [h.text for h in runtime.searcher.search(QUESTION, 5, as_of=day)]

    assert any("two days" in t for t in texts_on(date(2026, 12, 31)))
    assert not any("four days" in t for t in texts_on(date(2026, 12, 31)))
    assert any("four days" in t for t in texts_on(date(2027, 1, 1)))
    assert not any("two days" in t for t in texts_on(date(2027, 1, 1)))


def test_listing_shows_each_version_and_its_dates(versions, invoke):
    rows = json.loads(invoke("docs", "--json").output)
    assert [(r["source"], r["version"], r["effective_from"], r["effective_until"]) for r in rows] == [
        ("remote-work.md", 1, None, "2027-01-01"), ("remote-work.md", 2, "2027-01-01", None)]
    today = date.today() < date(2027, 1, 1)  # which one is in force depends on the real day the test runs
    assert [r["in_force"] for r in rows] == [today, not today]
    listing = invoke("docs").output
    assert "in force since always until 2027-01-01" in listing and "in force from 2027-01-01" in listing


def test_removing_one_version_leaves_the_other_and_the_statistics_exact(versions, invoke, db):
    stats_are_exact(db)
    removed = invoke("remove", "remote-work.md", "--version", "2")
    assert removed.exit_code == 0 and "Removed version 2 of remote-work.md" in removed.output
    stats_are_exact(db)
    answer = ask(invoke, f"{QUESTION[:-1]} from 1 January 2027?", BEFORE)
    assert "two days" in answer["answer"] and "in force until" not in answer["answer"]
    with pytest.raises(NotFound, match="has no live version 2"):  # the console script prints it, exit status 1
        invoke("remove", "remote-work.md", "--version", "2")
    assert invoke("remove", "remote-work.md").exit_code == 0
    assert json.loads(invoke("docs", "--json").output) == []
    stats_are_exact(db)


def test_uploading_the_same_version_again_changes_nothing(versions, invoke, count_rows):
    chunks = count_rows("chunks")
    again = invoke("ingest", "--effective", "2027-01-01", str(versions / "v2" / "remote-work.md"), "--json")
    undated = invoke("ingest", str(versions / "v2" / "remote-work.md"), "--json")  # the scheduled one's content
    for result in (again, undated):
        [r] = json.loads(result.output)["results"]
        assert (r["status"], r["version"], r["effective_from"]) == ("unchanged", 2, "2027-01-01")
    assert count_rows("chunks") == chunks
    assert [r["version"] for r in json.loads(invoke("docs", "--json").output)] == [1, 2]


def test_an_undated_file_corrects_the_version_in_force_and_keeps_the_scheduled_one(versions, runtime):
    runtime.ingestor.today = lambda: date(2026, 6, 1)
    fixed = V1.replace("two days a week", "two days a week, agreed with your manager")
    result = runtime.ingestor.ingest_bytes("remote-work.md", fixed.encode())
    assert (result.status, result.version, result.effective_from) == ("replaced", 3, None)
    with runtime.db.connection() as conn:
        assert conn.execute("SELECT version, effective_from FROM documents WHERE status = 'active' "
                            "ORDER BY version").fetchall() == [(2, date(2027, 1, 1)), (3, None)]


def test_a_bad_date_is_a_kind_error_and_nothing_is_written(invoke, tmp_path, count_rows):
    path = write(tmp_path, "remote-work.md", V1)
    result = invoke("ingest", "--effective", "2027-02-30", str(path))
    assert result.exit_code == 2 and "'2027-02-30' is not a date I can read" in result.output
    assert "YYYY-MM-DD" in result.output and "Traceback" not in result.output
    front = write(tmp_path, "dated.md", "---\neffective: next spring\n---\n" + V2)
    rejected = invoke("ingest", str(front), "--json")
    [r] = json.loads(rejected.output)["results"]
    assert r["status"] == "rejected" and "'next spring' is not a date I can read" in r["reason"]
    assert count_rows("documents") == 0 and count_rows("chunks") == 0


def test_front_matter_carries_the_date_and_is_not_quoted(invoke, runtime, tmp_path):
    invoke("ingest", str(write(tmp_path, "remote-work.md", V1)))
    (tmp_path / "new").mkdir()
    dated = write(tmp_path / "new", "remote-work.md", "---\ntitle: Remote work\neffective: 2027-01-01\n---\n" + V2)
    [r] = json.loads(invoke("ingest", str(dated), "--json").output)["results"]
    assert (r["status"], r["version"], r["effective_from"]) == ("added", 2, "2027-01-01")
    with runtime.db.connection() as conn:
        stored = " ".join(t for (t,) in conn.execute("SELECT text FROM chunks"))
    assert "effective:" not in stored and "four days" in stored


# --- through Slack ---------------------------------------------------------------------------------------------

def share(bot, fake, user, file_id, name, content: bytes, text: str, ts: str):
    fake.add_file(file_id, name, content)
    bot.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": f"D{user}",
               "user": user, "ts": ts, "text": text, "files": [{"id": file_id, "name": name}]})


def test_an_admin_schedules_a_version_from_slack(bot, fake, db):
    share(bot, fake, "U0ADMIN", "F1", "remote-work.md", V1.encode(), "", "1700003000.000100")
    share(bot, fake, "U0ADMIN", "F2", "remote-work.md", V2.encode(), "effective 2030-04-01", "1700003001.000100")
    acks = fake.wait_for("chat.postMessage", 2)  # each event is answered on its own thread: in either order
    assert "as the version in force from 2030-04-01" in texts(acks)
    bot.bot.jobs.run_pending()
    assert "In force from 2030-04-01" in texts(fake.calls_to("chat.postMessage"))
    with db.connection() as conn:
        assert conn.execute("SELECT version, effective_from FROM documents WHERE status = 'active' "
                            "ORDER BY version").fetchall() == [(1, None), (2, date(2030, 4, 1))]
    before = len(fake.calls_to("chat.update"))
    bot.dm("U0SAMPLE", QUESTION, ts="1700003002.000100")
    answer = texts([fake.wait_for("chat.update", before + 1)[-1]])
    assert "two days" in answer and "four days" not in answer and "until 1 April 2030" in answer
    before = len(fake.calls_to("chat.update"))
    bot.dm("U0SAMPLE", f"{QUESTION[:-1]} from 1 April 2030?", ts="1700003003.000100")
    answer = texts([fake.wait_for("chat.update", before + 1)[-1]])
    assert "four days" in answer and "in force from 1 April 2030" in answer
    from tests.fakes.slack_api import command_body

    bot.post(command_body("/hr-admin", "docs", "U0ADMIN", "C0GENERAL", fake.response_url("docs")))
    listing = texts(fake.wait_for("response_url:docs"))
    assert "until 2030-04-01" in listing and "in force from 2030-04-01" in listing
    with db.connection() as conn:
        assert conn.execute("SELECT actor, details->>'effective_from' FROM audit_log WHERE action = 'ingest' "
                            "ORDER BY audit_id").fetchall() == [("U0ADMIN", None), ("U0ADMIN", "2030-04-01")]


def test_a_bad_date_in_slack_is_a_kind_reply_and_nothing_is_queued(bot, fake, db):
    share(bot, fake, "U0ADMIN", "F3", "remote-work.md", V2.encode(), "effective 2030-02-30", "1700003100.000100")
    [reply] = fake.wait_for("chat.postMessage")
    assert "I didn't add anything" in reply.args["text"] and "YYYY-MM-DD" in reply.args["text"]
    bot.bot.jobs.run_pending()
    assert not fake.calls_to("files.info") and not fake.calls_to("file:F3")
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0


def test_a_forged_date_on_a_queued_upload_is_refused(bot, fake, db):
    """The date travels in the job's sealed arguments: a job whose date was changed after it was queued is not run."""
    from bot.jobs import refusal, sealed

    operations = bot.bot.jobs.operations
    args = sealed(operations.job_seal_key, file_id="F4", user="U0ADMIN", channel="DU0ADMIN", thread_ts="1.2",
                  effective="2030-04-01")
    seal = args.pop("seal")
    assert refusal(operations, seal, **{**args, "effective": "2020-01-01"}) is not None
    assert refusal(operations, seal, **args) is None


def test_a_folder_retires_only_the_versions_it_added(versions, invoke, tmp_path, runtime):
    """Outside review: a synced folder's file named like an admin's document became a version of it, and when the
    file went the folder's retirement removed the admin's versions too. It now retires its own version only."""
    folder = tmp_path / "synced"
    folder.mkdir()
    write(folder, "remote-work.md", "---\neffective: 2026-01-01\n---\n" + V1.replace("two", "three"))
    assert invoke("sync", str(folder)).exit_code == 0
    (folder / "remote-work.md").unlink()
    result = invoke("sync", str(folder))
    assert result.exit_code == 0, result.output
    listed = json.loads(invoke("docs", "--json").output)
    kept = sorted(d["version"] for d in listed if d["source"] == "remote-work.md")
    assert kept == [1, 2], listed  # the admin's undated v1 and scheduled v2 are still there
    assert "two days" in ask(invoke, QUESTION, BEFORE)["answer"]


@pytest.mark.parametrize("effective,problem", [
    ("2020-01-01", "already stored as version 2"),   # v2's content again under another date: not a silent move
    ("0001-01-01", "before 1970"),                    # a typo would put it in force for every day asked about
])
def test_a_dated_upload_that_would_silently_take_over_is_refused(versions, invoke, count_rows, effective, problem):
    before = count_rows("documents")
    result = invoke("ingest", "--effective", effective, str(versions / "v2" / "remote-work.md"), "--json")
    assert problem in result.output and count_rows("documents") == before
    assert "two days" in ask(invoke, QUESTION, BEFORE)["answer"]


def test_the_version_note_writes_the_date_as_the_askers_language_does(versions, invoke):
    answer = ask(invoke, "Wie viele Tage pro Woche darf ich ab 1. Januar 2027 von zu Hause arbeiten?", BEFORE)
    assert "ab 1. Januar 2027 geltende Fassung" in answer["answer"], answer["answer"]
