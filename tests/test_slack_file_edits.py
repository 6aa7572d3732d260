"""A file an HR admin shared in Slack and then edited or deleted there (issue 25): Slack's signed file_change and
file_deleted events, through the real HTTP server, re-read or retire the document it became; a file the knowledge
base does not hold, a document replaced since by another file, and an owner who is no longer an admin change
nothing."""
import time

from tests.test_admin_slack import POLICY_V1, POLICY_V2, active, process_jobs, share

OTHER = b"# Travel\n\nBook trains in standard class.\n"


def _until(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def _shared(bot, fake, file_id: str, name: str, content: bytes, ts: str) -> None:
    share(bot, fake, "U0ADMIN", (file_id, name, content), ts=ts)
    fake.files[file_id]["user"] = "U0ADMIN"  # files.info names who shared it
    process_jobs(bot)


def test_a_shared_file_edited_in_slack_is_read_again_and_one_deleted_is_retired(bot, fake, db):
    _shared(bot, fake, "F81", "pet-policy.md", POLICY_V1, "1700003000.000100")
    _shared(bot, fake, "F82", "travel.md", OTHER, "1700003001.000100")
    assert active(db) == [("pet-policy.md", 1), ("travel.md", 1)]

    fake.edit_file("F81", POLICY_V2)
    status, _, _ = bot.event({"type": "file_change", "file_id": "F81", "file": {"id": "F81"}})
    assert status == 200
    assert _until(lambda: active(db) == [("pet-policy.md", 2), ("travel.md", 1)]), active(db)
    with db.connection() as conn:
        text = " ".join(r[0] for r in conn.execute(
            "SELECT c.text FROM chunks c JOIN documents d USING (document_id) WHERE d.source = 'pet-policy.md' "
            "AND d.status = 'active'"))
    assert "Tuesdays only" in text

    fake.delete_file("F82")
    status, _, _ = bot.event({"type": "file_deleted", "file_id": "F82", "event_ts": "1700003002.000100"})
    assert status == 200
    assert _until(lambda: active(db) == [("pet-policy.md", 2)]), active(db)


def test_files_it_does_not_hold_replaced_documents_and_non_admin_owners_change_nothing(bot, fake, db):
    from bot.uploads import SlackFileEdits
    from knowledge.desks.admins import AdminDesk

    _shared(bot, fake, "F91", "pet-policy.md", POLICY_V1, "1700004000.000100")
    _shared(bot, fake, "F92", "pet-policy.md", POLICY_V2, "1700004001.000100")  # replaces it: now F92's
    assert active(db) == [("pet-policy.md", 2)]
    edits = SlackFileEdits(AdminDesk(bot.runtime))  # what the listeners call, here synchronously
    assert edits.deleted("F91") == []   # the older file: the document is F92's now
    assert edits.deleted("F99") == []   # never shared
    fake.files["F92"]["user"] = "U0SOMEONE"  # owned by someone who is not (or no longer) an HR admin
    fake.edit_file("F92", POLICY_V1.replace(b"Fridays", b"Mondays"))
    assert edits.changed(bot.app.client, "F92") == []
    assert active(db) == [("pet-policy.md", 2)]
    fake.files["F92"]["user"] = "U0ADMIN"
    assert edits.changed(bot.app.client, "F92") == ["pet-policy.md"]
    assert active(db) == [("pet-policy.md", 3)]
