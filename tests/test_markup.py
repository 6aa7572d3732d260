"""Text from documents and from people reaches Slack inert: no channel pings, no disguised links, no mentions
(issue 14 item 4). One test per surface."""
from bot.render import answer_markup, plain
from tests.slack_helpers import texts

PHISH = (b"# Payroll Portal\n\n## Logging in\n\nPayslips are on <https://phish.example/login|the official HR portal> "
         b"from the 25th of each month. <!channel> please check yours & tell <@U0BOSS> if anything is wrong.\n")


def test_plain_escapes_and_unmasks_links():
    assert plain("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert plain("see <https://phish.example/login|the HR portal>") == \
        "see the HR portal (https://phish.example/login)"
    # our own quote marks survive; the quoted text does not act
    assert answer_markup("> Pay is on <!here> day [1]\n*From your records:*") == \
        "> Pay is on &lt;!here&gt; day [1]\n*From your records:*"


def test_a_quoted_document_cannot_ping_or_hide_a_link(bot, fake, runtime):
    runtime.ingestor.ingest_bytes("payroll.md", PHISH, uploaded_by="test")
    bot.dm("U0SAMPLE", "where do I log in to see my payslips?", ts="1700009000.000100")
    [update] = fake.wait_for("chat.update")
    shown = texts([update]) + update.args["text"]
    assert "<!channel>" not in shown and "<@U0BOSS>" not in shown
    assert "|the official HR portal>" not in shown
    assert "the official HR portal (https://phish.example/login)" in shown
    assert "&lt;!channel&gt;" in shown


def test_talk_to_hr_posts_the_question_inert(bot, fake):
    bot.command("U0SAMPLE", "<!channel> who approves <https://evil.example|leave> requests?")
    [reply] = fake.wait_for("response_url:cmd")
    question_id = [b for b in reply.args["blocks"] if b["type"] == "actions"][0]["elements"][2]["value"]
    bot.action("U0SAMPLE", "hr_escalate", question_id)
    fake.wait_for("response_url:act")
    [posted] = fake.wait_for("chat.postMessage")
    shown = texts([posted]) + posted.args["text"]
    assert "<!channel>" not in shown and "<https://evil.example|leave>" not in shown
    assert "&lt;!channel&gt; who approves leave (https://evil.example) requests?" in shown


def test_admin_views_show_employees_questions_inert(bot, fake, runtime):
    from tests.fakes.slack_api import command_body

    runtime.ingestor.ingest_bytes("payroll.md", PHISH, uploaded_by="test")
    bot.dm("U0SAMPLE", "<!here> can I expense a <https://x.example|gym> membership?", ts="1700009100.000100")
    fake.wait_for("chat.update")
    bot.post(command_body("/hr-admin", "gaps", "U0ADMIN", "C0GENERAL", fake.response_url("gaps")))
    [gaps] = fake.wait_for("response_url:gaps")
    shown = texts([gaps])
    assert "&lt;!here&gt;" in shown and "<!here>" not in shown and "gym (https://x.example)" in shown
