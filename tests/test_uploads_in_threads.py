"""Files shared inside a DM thread or the assistant panel: Bolt's Assistant middleware claims those messages,
so they must reach the upload path there too (they used to vanish without a reply)."""
import pytest

from tests.slack_helpers import texts

POLICY = b"# Bike Policy\n\n## Cycle to work\n\nThe cycle-to-work scheme pays up to 1,000 for a bike.\n"


@pytest.mark.parametrize("user, expected", [("U0ADMIN", "Got it: adding `bike-policy.md`"),
                                            ("U0SAMPLE", "only HR admins can add documents")])
def test_a_file_shared_in_a_thread_is_handled(bot, fake, db, user, expected):
    fake.add_file("F7", "bike-policy.md", POLICY)
    bot.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": f"D{user}",
               "user": user, "ts": "1700003001.000100", "thread_ts": "1700003000.000100", "text": "",
               "files": [{"id": "F7", "name": "bike-policy.md"}]})
    [reply] = fake.wait_for("chat.postMessage")
    assert expected in reply.args["text"]
    assert reply.args["thread_ts"] == "1700003000.000100"
    bot.bot.jobs.run_pending()
    with db.connection() as conn:
        stored = conn.execute("SELECT source FROM documents WHERE status = 'active'").fetchall()
    assert stored == ([("bike-policy.md",)] if user == "U0ADMIN" else [])
    if user == "U0ADMIN":
        assert "Added *Bike Policy*" in texts(fake.calls_to("chat.postMessage"))
