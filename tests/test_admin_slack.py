"""HR admins from Slack: uploads through the job queue, records, /hr-admin, removal, gaps, audit."""
import json
import time

import pytest

from tests.files import encrypted_pdf_bytes
from tests.slack_helpers import texts

POLICY_V1 = b"# Pet Policy\n\n## Dogs in the office\n\nWell-behaved dogs may come to the Berlin office on Fridays.\n"
POLICY_V2 = b"# Pet Policy\n\n## Dogs in the office\n\nDogs may come to the Berlin office on Tuesdays only.\n"


def share(bot, fake, user, *files, ts="1700002000.000100"):
    """An admin drags files into the DM: Slack sends message/file_share with the file ids."""
    for file_id, name, content in files:
        fake.add_file(file_id, name, content)
    bot.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": f"D{user}",
               "user": user, "ts": ts, "text": "", "files": [{"id": f, "name": n} for f, n, _ in files]})


def process_jobs(bot):
    bot.bot.jobs.run_pending()


def said(fake, needle: str) -> bool:
    return needle in texts(fake.calls_to("chat.postMessage"))


def ask(bot, fake, question, ts):
    before = len(fake.calls_to("chat.update"))
    bot.dm("U0SAMPLE", question, ts=ts)
    return fake.wait_for("chat.update", before + 1)[-1]


def active(db):
    with db.connection() as conn:
        return conn.execute("SELECT source, version FROM documents WHERE status = 'active' ORDER BY 1").fetchall()


def test_admin_upload_is_answerable_then_replaced_and_not_duplicated(bot, fake, db):
    share(bot, fake, "U0ADMIN", ("F1", "pet-policy.md", POLICY_V1))
    [ack] = fake.wait_for("chat.postMessage")
    assert "Got it: adding `pet-policy.md`" in ack.args["text"]
    process_jobs(bot)
    assert said(fake, "Added *Pet Policy* (`pet-policy.md`)")
    assert fake.calls_to("file:F1")[0].headers["authorization"] == "Bearer xoxb-test"
    answer = ask(bot, fake, "Can I bring my dog to the office?", "1700002001.000100")
    assert "Pet Policy" in texts([answer]) and "Fridays" in texts([answer])
    assert "<https://fake.slack.example/files/F1|Pet Policy>" in texts([answer])  # sources link to the file

    share(bot, fake, "U0ADMIN", ("F2", "pet-policy.md", POLICY_V1), ts="1700002002.000100")
    process_jobs(bot)
    assert said(fake, "`pet-policy.md` is already up to date")
    assert active(db) == [("pet-policy.md", 1)]

    share(bot, fake, "U0ADMIN", ("F3", "pet-policy.md", POLICY_V2), ts="1700002003.000100")
    process_jobs(bot)
    assert said(fake, "Replaced with version 2")
    assert active(db) == [("pet-policy.md", 2)]
    answer = ask(bot, fake, "Can I bring my dog to the office?", "1700002004.000100")
    assert "Tuesdays" in texts([answer]) and "Fridays" not in texts([answer])


def test_non_admin_upload_is_refused_and_nothing_is_fetched_or_stored(bot, fake, db):
    share(bot, fake, "U0SAMPLE", ("F9", "my-cv.pdf", b"%PDF-1.4 whatever"))
    [reply] = fake.wait_for("chat.postMessage")
    assert "only HR admins can add documents" in reply.args["text"]
    process_jobs(bot)
    assert not fake.calls_to("files.info") and not fake.calls_to("file:F9")
    assert active(db) == []


def test_bad_files_get_clear_messages_and_change_nothing(bot, fake, db):
    fake.add_file("FBIG", "huge.pdf", b"%PDF-1.4 small really", size=200 * 1024 * 1024)
    share(bot, fake, "U0ADMIN", ("F10", "broken.pdf", b"%PDF-1.4 garbage"), ("F11", "locked.pdf",
          encrypted_pdf_bytes()), ("F12", "empty.md", b""), ("F13", "slides.pptx", b"PK\x03\x04"))
    bot.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": "DU0ADMIN",
               "user": "U0ADMIN", "ts": "1700002100.000100", "files": [{"id": "FBIG", "name": "huge.pdf"}]})
    fake.wait_for("chat.postMessage", 2)
    process_jobs(bot)
    for expected in ("`broken.pdf` was not added: The PDF could not be read", "`locked.pdf` was not added: The "
                     "PDF is password-protected", "`empty.md` was not added: The file is empty",
                     "`slides.pptx` was not added: .pptx files are not supported", "`huge.pdf` was not added: "
                     "the file is 200.0 MB; the limit is 25 MB"):
        assert said(fake, expected), expected
    assert not fake.calls_to("file:FBIG")  # refused from its size, never downloaded
    assert active(db) == []


def test_records_csv_from_slack_is_validated_all_or_nothing(bot, fake, db):
    from tests.test_records_import import EMPLOYEES

    bad = EMPLOYEES + "E903,,carl@x.example,Carl,DE,Ops,permanent,1,2026-02-30,,\n"
    share(bot, fake, "U0ADMIN", ("F20", "employees.csv", bad.encode()))
    process_jobs(bot)
    assert said(fake, "nothing was changed") and said(fake, "line 4: hire_date '2026-02-30' is not a date")
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM employees").fetchone()[0] == 0
    share(bot, fake, "U0ADMIN", ("F21", "employees.csv", EMPLOYEES.encode()), ts="1700002201.000100")
    process_jobs(bot)
    assert said(fake, "Imported `employees.csv`: 2 employees rows, 2 changed")


def test_hr_admin_docs_remove_and_refusal(bot, fake, runtime, tmp_path):
    (tmp_path / "pet-policy.md").write_bytes(POLICY_V1)
    runtime.ingestor.ingest_paths([tmp_path / "pet-policy.md"], uploaded_by="U0ADMIN")
    status, body, _ = bot.post(_command("/hr-admin", "docs", "U0SAMPLE", fake))
    assert json.loads(body)["text"].startswith("Sorry, only HR admins")
    bot.post(_command("/hr-admin", "docs", "U0ADMIN", fake))
    [listing] = fake.wait_for("response_url:cmd")
    remove = [b for b in listing.args["blocks"] if b.get("accessory", {}).get("action_id") == "hr_doc_remove"]
    assert remove[0]["accessory"]["value"] == "pet-policy.md" and "Pet Policy" in texts([listing])
    bot.action("U0SAMPLE", "hr_doc_remove", "pet-policy.md", response_name="nope")
    assert "only HR admins" in fake.wait_for("response_url:nope")[0].args["text"]
    bot.action("U0ADMIN", "hr_doc_remove", "pet-policy.md")
    assert "Removed `pet-policy.md`" in fake.wait_for("response_url:act")[0].args["text"]
    answer = ask(bot, fake, "Can I bring my dog to the office?", "1700002300.000100")
    assert "Pet Policy" not in texts([answer])


def test_gaps_and_stats_list_what_could_not_be_answered(bot, fake, runtime, tmp_path):
    (tmp_path / "pet-policy.md").write_bytes(POLICY_V1)
    runtime.ingestor.ingest_paths([tmp_path / "pet-policy.md"])
    ask(bot, fake, "Is there a company gym membership discount?", "1700002400.000100")
    ask(bot, fake, "do we get a discount on gym memberships", "1700002401.000100")
    ask(bot, fake, "Can I bring my dog to the office?", "1700002402.000100")
    bot.post(_command("/hr-admin", "gaps", "U0ADMIN", fake))
    [gaps] = fake.wait_for("response_url:cmd")
    shown = texts([gaps])
    assert "2x" in shown and "gym" in shown and "dog" not in shown
    bot.post(_command("/hr-admin", "stats", "U0ADMIN", fake, name="stats"))
    [stats] = fake.wait_for("response_url:stats")
    assert "3 questions" in texts([stats]) and "pet-policy.md" in texts([stats])


def test_audit_log_records_admin_actions_and_personal_reads(bot, fake, runtime, invoke):
    from knowledge.people.imports import import_csv
    from tests.test_records_import import EMPLOYEES

    import_csv(runtime.db, EMPLOYEES.encode(), actor="cli:hr", name="employees.csv")
    share(bot, fake, "U0ADMIN", ("F30", "pet-policy.md", POLICY_V1))
    process_jobs(bot)
    bot.dm("U0AAA", "How much annual leave do I have?", ts="1700002500.000100")
    fake.wait_for("chat.update")
    result = invoke("audit", "--json")
    entries = [(e["actor"], e["action"], e["target"]) for e in json.loads(result.output)]
    assert ("cli:hr", "records_import", "employees.csv") in entries
    assert ("U0ADMIN", "ingest", "pet-policy.md") in entries
    assert ("U0AAA", "read_records", "E901") in entries
    assert "read_records" in invoke("audit", "--action", "read_records").output


def test_admin_cli_and_table_admins(invoke, runtime):
    assert "now an HR admin" in invoke("admin", "add", "U0NEWADMIN").output
    assert runtime.admins.is_admin("U0NEWADMIN")
    assert "U0NEWADMIN" in invoke("admin", "list").output
    assert "no longer" in invoke("admin", "remove", "U0NEWADMIN").output
    assert not runtime.admins.is_admin("U0NEWADMIN")


def _command(command, text, user, fake, name="cmd"):
    from tests.fakes.slack_api import command_body

    return command_body(command, text, user, "C0GENERAL", fake.response_url(name))


def test_audience_menu_after_upload_limits_the_document(bot, fake, db):
    share(bot, fake, "U0ADMIN", ("F40", "pet-policy.md", POLICY_V1))
    process_jobs(bot)
    summary = [c for c in fake.calls_to("chat.postMessage") if c.args.get("blocks")][-1]
    menu = summary.args["blocks"][0]["accessory"]
    uk_only = next(o for o in menu["options"] if o["text"]["text"] == "UK only")
    payload = {"type": "block_actions", "user": {"id": "U0ADMIN"}, "team": {"id": "T0TEST"},
               "trigger_id": "t", "response_url": fake.response_url("aud"), "channel": {"id": "DU0ADMIN"},
               "actions": [{"action_id": "hr_doc_audience", "type": "static_select", "block_id": "b",
                            "selected_option": uk_only, "action_ts": "1"}]}
    from tests.fakes.slack_api import action_body

    bot.post(action_body(payload))
    assert "now for UK employees" in fake.wait_for("response_url:aud")[0].args["text"]
    with db.connection() as conn:
        assert conn.execute("SELECT audience FROM documents WHERE status = 'active'").fetchone()[0] == "GB"
        assert conn.execute("SELECT DISTINCT audience FROM chunks").fetchall() == [("GB",)]


def test_app_home_audits_the_records_it_reads(bot, fake, runtime, invoke):
    from knowledge.people.imports import import_csv
    from tests.test_records_import import EMPLOYEES

    import_csv(runtime.db, EMPLOYEES.encode(), actor="cli:hr", name="employees.csv")
    bot.event({"type": "app_home_opened", "user": "U0AAA", "tab": "home", "channel": "DU0AAA"})
    fake.wait_for("views.publish")
    entries = [(e["actor"], e["action"], e["target"]) for e in json.loads(invoke("audit", "--json").output)]
    assert ("U0AAA", "read_records", "E901") in entries


def test_app_home_shows_the_knowledge_base_to_admins_added_with_the_cli(bot, fake, invoke):
    assert "now an HR admin" in invoke("admin", "add", "U0TABLEADMIN").output
    bot.event({"type": "app_home_opened", "user": "U0TABLEADMIN", "tab": "home", "channel": "DU0TABLEADMIN"})
    [home] = fake.wait_for("views.publish")
    assert home.args["user_id"] == "U0TABLEADMIN" and "Knowledge base" in json.dumps(home.args["view"])


def test_audience_menu_on_a_replaced_version_changes_nothing_and_says_so(bot, fake, db):
    from tests.fakes.slack_api import action_body

    share(bot, fake, "U0ADMIN", ("F50", "pet-policy.md", POLICY_V1))
    process_jobs(bot)
    first = [c for c in fake.calls_to("chat.postMessage") if c.args.get("blocks")][-1]
    share(bot, fake, "U0ADMIN", ("F51", "pet-policy.md", POLICY_V2), ts="1700002601.000100")
    process_jobs(bot)
    assert said(fake, "Replaced with version 2")
    uk_only = next(o for o in first.args["blocks"][0]["accessory"]["options"] if o["text"]["text"] == "UK only")
    payload = {"type": "block_actions", "user": {"id": "U0ADMIN"}, "team": {"id": "T0TEST"},
               "trigger_id": "t", "response_url": fake.response_url("old"), "channel": {"id": "DU0ADMIN"},
               "actions": [{"action_id": "hr_doc_audience", "type": "static_select", "block_id": "b",
                            "selected_option": uk_only, "action_ts": "1"}]}
    bot.post(action_body(payload))
    [reply] = fake.wait_for("response_url:old")
    assert "replaced" in reply.args["text"] and "Done" not in reply.args["text"]
    with db.connection() as conn:
        rows = conn.execute("SELECT version, status, audience FROM documents ORDER BY version").fetchall()
        assert rows == [(1, "superseded", None), (2, "active", None)]
        assert conn.execute("SELECT DISTINCT audience FROM chunks").fetchall() == [(None,)]


def test_hrbot_worker_runs_shared_files_without_the_bolt_app(bot, fake, invoke, db):
    """`hrbot worker` builds the desks and a Web API client only: no Bolt app, no auth.test at start."""
    share(bot, fake, "U0ADMIN", ("F40", "pet-policy.md", POLICY_V1))
    fake.wait_for("chat.postMessage")
    auth_tests = len(fake.calls_to("auth.test"))
    result = invoke("worker", "--once", rt=bot.runtime)
    assert result.exit_code == 0, result.output
    assert len(fake.calls_to("auth.test")) == auth_tests
    assert said(fake, "Added *Pet Policy* (`pet-policy.md`)")
    assert active(db) == [("pet-policy.md", 1)]
    assert not hasattr(bot.app, "_hrbot_services")  # nothing patched onto Bolt's App


def test_jobs_queued_under_the_old_task_name_still_run_when_sealed(bot, fake, db):
    """A release renamed the task (blueprint namespace); sealed jobs queued under the old name are not stranded.
    A job without the bot's seal (queued with SQL by whoever has the runtime role) is refused, old name or new."""
    import procrastinate

    from bot.jobs import sealed
    from knowledge.operations.jobs import INGEST_QUEUE, build_job_app

    fake.add_file("F41", "pet-policy.md", POLICY_V1)
    fake.add_file("F42", "forged.md", POLICY_V1.replace(b"Pet Policy", b"Forged Policy"))
    old = build_job_app(db)
    args = {"file_id": "F41", "user": "U0ADMIN", "channel": "DU0ADMIN", "thread_ts": "1700002000.000100"}
    old.configure_task("hrbot.ingest_slack_file", queue=INGEST_QUEUE).defer(**sealed(db.binding_key, **args))
    old.configure_task("hrbot:ingest_slack_file", queue=INGEST_QUEUE).defer(
        file_id="F42", user="U0ADMIN", channel="DU0ADMIN", thread_ts="1700002000.000200")
    assert isinstance(old, procrastinate.App)
    process_jobs(bot)
    assert said(fake, "Added *Pet Policy* (`pet-policy.md`)")
    assert not said(fake, "forged.md") and [c for c in fake.calls_to("files.info")
                                            if c.args.get("file") == "F42"] == []


def test_a_copied_upload_job_cannot_bring_back_a_withdrawn_version(bot, fake, db):
    """The outside review's F1: the runtime role copied an admin's sealed upload job and queued it again after
    version 2 replaced it; version 1 came back in the admin's name. A seal is spent when its job runs."""
    import json

    from knowledge.operations.jobs import INGEST_QUEUE

    share(bot, fake, "U0ADMIN", ("F51", "pet-policy.md", POLICY_V1), ts="1700003000.000100")
    time.sleep(1.0)  # the ack is immediate; the job is queued by the listener
    with db.connection() as conn:
        queue, task, args = conn.execute("SELECT queue_name, task_name, args FROM procrastinate_jobs "
                                         "WHERE args->>'file_id' = 'F51'").fetchone()
    process_jobs(bot)
    share(bot, fake, "U0ADMIN", ("F52", "pet-policy.md", POLICY_V2), ts="1700003000.000200")
    time.sleep(1.0)
    process_jobs(bot)
    with db.connection() as conn:  # the attacker puts the copy back
        conn.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) VALUES (%s, %s, %s, 'todo')",
                     [queue, task, json.dumps(args)])
    process_jobs(bot)
    with db.connection() as conn:
        active = conn.execute("SELECT version FROM documents WHERE source = 'pet-policy.md' AND status = 'active'"
                              ).fetchall()
    assert active == [(2,)]
    assert [c for c in fake.calls_to("files.info") if c.args.get("file") == "F51"].__len__() == 1


def test_hr_admin_records_lists_balances_that_disagree_with_the_hr_system(bot, fake, runtime):
    from knowledge.people.imports import import_csv
    from tests.test_records_import import EMPLOYEES

    import_csv(runtime.db, EMPLOYEES.encode(), actor="cli:hr", name="employees.csv")
    import_csv(runtime.db, b"employee_id,leave_type,year,balance,as_of\nE901,annual,2026,30,2026-06-01\n"
                           b"E902,annual,2026,24,2026-06-01\n", actor="cli:hr", name="balances.csv")
    bot.post(_command("/hr-admin", "records", "U0SAMPLE", fake, name="nope"))
    assert not fake.calls_to("response_url:nope")  # not an admin: refused in the ack, nothing computed
    bot.post(_command("/hr-admin", "records", "U0ADMIN", fake))
    [reply] = fake.wait_for("response_url:cmd")
    shown = texts([reply])
    # E901: UK, hired January 2020, 6 full years by 1 January 2026: 27 days, none taken; the HR system says 30.
    # E902: Germany, 0.8 FTE all year: 30 x 0.8 = 24, which agrees.
    assert "1 balance where the HR system and my computation disagree" in shown
    assert "E901 Ada Lovelace, annual 2026 as of 1 June 2026: HR system 30 days, ours 27" in shown
    assert "E902" not in shown


def test_a_records_file_that_clashes_with_stored_employees_gets_a_reply(bot, fake, runtime):
    from knowledge.people.imports import import_csv
    from tests.test_records_import import EMPLOYEES

    import_csv(runtime.db, EMPLOYEES.encode(), actor="cli:hr", name="employees.csv")
    clash = b"employee_id,slack_user_id,email,name,country,hire_date\nE903,U0AAA,c@x.example,C,GB,2024-01-01\n"
    share(bot, fake, "U0ADMIN", ("F50", "more-people.csv", clash))
    process_jobs(bot)
    assert said(fake, "line 2: slack_user_id 'U0AAA' already belongs to employee E901")


def test_hrbot_ask_as_someone_is_audited_as_the_operator(runtime, invoke):
    import getpass

    from knowledge.people.imports import import_csv
    from tests.test_records_import import EMPLOYEES

    import_csv(runtime.db, EMPLOYEES.encode(), actor="cli:hr", name="employees.csv")
    invoke("ask", "--as", "U0AAA", "How much annual leave do I have?")
    entries = json.loads(invoke("audit", "--action", "read_records", "--json").output)
    [entry] = [e for e in entries if e["target"] == "E901"]
    assert entry["actor"] == f"cli:{getpass.getuser()}" and entry["details"]["as_user"] == "U0AAA"


def test_a_large_upload_says_how_long_it_will_take_and_shows_progress(bot, fake, db, monkeypatch):
    import bot.uploads as uploads

    monkeypatch.setattr(uploads, "LARGE", 5)
    monkeypatch.setattr(uploads, "UPDATE_EVERY", 0.0)
    text = "# Long Policy\n\n" + "\n\n".join(f"## Part {i}\n\n" + "A rule about leave. " * 60 for i in range(12))
    share(bot, fake, "U0ADMIN", ("F60", "long-policy.md", text.encode()))
    process_jobs(bot)
    assert said(fake, "`long-policy.md` is large:") and said(fake, "I'll update this message as I go")
    updates = texts(fake.calls_to("chat.update"))
    assert "passages embedded (100%)" in updates
    assert said(fake, "Added *Long Policy*")


@pytest.mark.parametrize("how", ["raises", "returns"])
def test_the_worker_starts_again_after_it_stops_on_an_error(bot, fake, db, how):
    """A database outage used to end the worker thread for good while /healthz said ok (issue 12). procrastinate
    also stops itself without raising when its LISTEN connection dies with the database: the outside probe of
    issue 22 saw every scheduled job stop after one postmaster kill while /readyz said "running"."""
    from knowledge.operations.jobs import WorkerStatus

    worker_app = bot.bot.jobs.worker_app
    real = worker_app.run_worker
    calls = []
    status = WorkerStatus()

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            if how == "raises":
                raise ConnectionError("server closed the connection unexpectedly")
            return None  # "Side task listener failed ... stopping worker": a normal return
        real(**{**kwargs, "wait": False})  # then work off the queue
        status.stopping.set()  # and this test stops it

    worker_app.run_worker = flaky
    share(bot, fake, "U0ADMIN", ("F70", "pet-policy.md", POLICY_V1))
    fake.wait_for("chat.postMessage")
    thread, status = bot.bot.jobs.start_thread(backoff=0.1, status=status)
    thread.join(30)
    assert status.restarts == 1 and not status.running
    assert ("server closed the connection" if how == "raises" else "stopped by itself") in status.last_error
    assert said(fake, "Added *Pet Policy*")


def test_serve_stops_with_one_line_when_slack_cannot_be_reached(runtime):
    import pytest

    from bot.app import build_bot
    from knowledge.errors import ConfigurationError
    from dataclasses import replace
    from knowledge.runtime import Runtime

    settings = replace(runtime.settings, slack_bot_token="xoxb-test", slack_api_url="http://127.0.0.1:9/")
    with pytest.raises(ConfigurationError, match=r"Can't reach Slack's API at http://127.0.0.1:9/"):
        build_bot(Runtime(settings, db=runtime.db, embeddings=runtime.embeddings), connect_wait=1.0)


def test_hr_admin_sources_shows_status_and_stale_ones(bot, fake, runtime, tmp_path):
    from knowledge.sources.runner import run_source
    from knowledge.sources.store import SourceStore

    store = SourceStore(runtime.db)
    bot.post(_command("/hr-admin", "sources", "U0ADMIN", fake, name="none"))
    assert "No scheduled sources yet" in texts(fake.wait_for("response_url:none"))
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "pets.md").write_bytes(POLICY_V1)
    run_source(runtime.ingestor, store, store.add("share", "folder", {"path": str(tmp_path / "share")}, 3600))
    store.add("intranet", "web", {"urls": ["http://127.0.0.1:9/missing"]}, 3600)
    run_source(runtime.ingestor, store, store.get("intranet"))
    bot.post(_command("/hr-admin", "sources", "U0ADMIN", fake, name="some"))
    shown = texts(fake.wait_for("response_url:some"))
    assert "*share* (folder, every 60 min): last success" in shown and "added 1" in shown
    assert "*intranet* (web" in shown and "stale" in shown and "cannot be reached" in shown
    (tmp_path / "share" / "travel.md").write_bytes(b"# Travel\n\nBook trains over flights under 500 km.\n")
    bot.post(_command("/hr-admin", "sources run share", "U0ADMIN", fake, name="run"))
    assert "*share* ran: added 1, unchanged 1." in texts(fake.wait_for("response_url:run"))
    bot.post(_command("/hr-admin", "sources run nosuch", "U0ADMIN", fake, name="nosuch"))
    assert "No source is named 'nosuch'" in texts(fake.wait_for("response_url:nosuch"))
    with runtime.db.owner.connection() as conn:
        assert conn.execute("SELECT actor, target FROM audit_log WHERE action = 'source_run'").fetchall() == [
            ("U0ADMIN", "share")]


def test_a_job_whose_worker_died_mid_job_is_retried_and_the_document_is_whole(bot, fake, runtime):
    """As if `hrbot worker` was killed while ingesting: its job stays 'doing' under a worker that no longer beats.
    retry_stalled() (every minute in each worker) puts it back; the next run ingests the file once, whole."""
    from knowledge.operations.jobs import retry_stalled

    fake.add_file("F70", "pet-policy.md", POLICY_V1)
    bot.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": "DU0ADMIN",
               "user": "U0ADMIN", "ts": "1700007000.000100", "text": "", "files": [{"id": "F70", "name": "x"}]})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with runtime.db.connection() as conn:
            queued = conn.execute("SELECT id FROM procrastinate_jobs WHERE status = 'todo'").fetchall()
        if queued:
            break
        time.sleep(0.05)
    [(job_id,)] = queued
    with runtime.db.connection() as conn:  # the dead worker had taken it
        dead = conn.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '5 minutes') "
                            "RETURNING id").fetchone()[0]
        conn.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s", [dead, job_id])
    assert retry_stalled(runtime.db, seconds=10) == [job_id]
    assert retry_stalled(runtime.db, seconds=10) == []
    process_jobs(bot)
    with runtime.db.connection() as conn:
        docs = conn.execute("SELECT source, chunk_count, (SELECT count(*) FROM chunks c WHERE c.document_id = d.document_id)"
                            " FROM documents d WHERE status = 'active'").fetchall()
    assert len(docs) == 1 and docs[0][0] == "pet-policy.md" and docs[0][1] == docs[0][2] > 0
