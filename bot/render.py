"""All Block Kit the bot sends (answers, help, App Home, admin lists, upload summaries, hand-offs to HR), within
Slack's limits, and the action ids its buttons carry."""
from __future__ import annotations

import re
import urllib.parse

from knowledge.answering.answers import Answer
from knowledge.desks.admins import KnowledgeBaseStatus
from knowledge.desks.employees import HomeSummary
from knowledge.profile.wording import Wording, english

# Action and view ids: the listeners in bot/listeners/ are registered on these names.
FEEDBACK_UP = "hr_feedback_up"
FEEDBACK_DOWN = "hr_feedback_down"
ESCALATE = "hr_escalate"
FEEDBACK_MODAL = "hr_feedback_modal"
DOC_REMOVE = "hr_doc_remove"
DOC_AUDIENCE = "hr_doc_audience"
REMIND_ME = "hr_remind_me"            # value: the Slack id of the person the button was shown to
STOP_REMINDERS = "hr_stop_reminders"  # the same; the listener acts only when it is the clicking user's own
LISTED_DOCUMENTS = 45  # a message holds 50 blocks

SECTION_LIMIT = 3000      # characters in one section's text
MAX_BLOCKS = 50           # blocks in one message
FALLBACK_LIMIT = 3000     # the notification / screen-reader text
ANSWER_LIMIT = 12_000     # characters of answer text in one message: a passage that is one huge "sentence" (a
                          # hostile or broken document) must not make a message Slack refuses (it did: 148 KB)
THINKING = "Looking that up..."


SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)\|([^>]*)>")
QUOTE_PREFIX = re.compile(r"^(> )")
SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,}")
NOT_IN_A_LINK = re.compile(r"[\s\x00-\x1f\x7f|<>]")  # would end the link early or hide what follows


def plain(text) -> str:
    """Text from a document, a source, a record or a person, made inert for Slack: `&`, `<`, `>` escaped, so
    `<!channel>`, `<@U123>` and `<https://x|disguised links>` show as what they are instead of pinging or hiding a
    URL; a Slack-style link is shown as its label with the real address beside it.

    The one escaping function: everything that reaches Slack from content (titles, headings, file and source
    names, URLs shown as text, quoted passages, errors that echo them) goes through it, so a new surface cannot
    get its own, weaker, variant. None is shown as nothing."""
    if text is None:
        return ""
    text = SLACK_LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2).strip() else m.group(1), str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_target(url) -> str | None:
    """url if Slack may link to it: http(s), a host, no user part (`https://good@evil/` reads as good's), and
    nothing that ends Slack's `<url|label>` early or hides a second address (whitespace, control characters,
    `|`, `<`, `>`). Anything else is None: shown as text, never as a link."""
    if not isinstance(url, str) or not url or NOT_IN_A_LINK.search(url):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # a malformed port raises
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return url


def safe_link(url, label="") -> str:
    """The only way a link is built: `<url|label>` for a checked http(s) address (link_target) with the label
    escaped and without `|` (where Slack splits target from label); otherwise the label alone, as text. A
    citation whose address is odd still names its document; it just is not clickable."""
    shown = plain(label).replace("|", "/").strip()
    target = link_target(url)
    if target is None:
        return shown or plain(url)
    target = target.replace("&", "&amp;")
    return f"<{target}|{shown}>" if shown else f"<{target}>"


def mention(slack_user_id) -> str:
    """`<@U123>` for a Slack user id (the only markup we build from an id); anything else that reached us as an id
    is shown as text rather than trusted to be one."""
    return f"<@{slack_user_id}>" if isinstance(slack_user_id, str) and SLACK_ID.fullmatch(slack_user_id) \
        else plain(slack_user_id)


def answer_markup(text: str) -> str:
    """An answer's text for mrkdwn: everything escaped except the quote marks our answerer puts at line starts."""
    lines = []
    for line in text.split("\n"):
        prefix = "> " if line.startswith("> ") else ""
        lines.append(prefix + plain(line[len(prefix):]))
    return "\n".join(lines)


def section(text: str) -> dict:
    """A mrkdwn section, cut to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split at paragraph, then line, then word boundaries so no piece exceeds Slack's limit."""
    pieces, current = [], ""
    for paragraph in text.split("\n"):
        while len(paragraph) > limit:
            cut = paragraph.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip()
        candidate = f"{current}\n{paragraph}" if current else paragraph
        if len(candidate) > limit:
            pieces.append(current)
            current = paragraph
        else:
            current = candidate
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()] or [" "]


def source_line(citation) -> str:
    """One line of the Sources block: the title (a link when the document's address passes safe_link), then the
    section's last heading and the page. Headings are document text, escaped like the rest."""
    where = " · ".join(x for x in (citation.section.split(" > ")[-1] if citation.section else "",
                                   f"p. {citation.pages}" if citation.page else "") if x)
    return f"*[{citation.n}]* {safe_link(citation.url, citation.title)}" + (f" — {plain(where)}" if where else "")


def answer_blocks(answer: Answer, question_id: int | None, *, feedback: bool = True,
                  escalation: bool = True, note: str | None = None) -> list[dict]:
    blocks: list[dict] = [section(part) for part in _within(split_text(answer_markup(answer.text)), ANSWER_LIMIT)]
    blocks += answer_footer_blocks(answer, question_id, feedback=feedback, escalation=escalation, note=note)
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[:MAX_BLOCKS - 2] + [section("_(answer shortened to fit Slack)_")] + blocks[-1:]
    return blocks


def answer_footer_blocks(answer: Answer, question_id: int | None, *, feedback: bool = True,
                         escalation: bool = True, note: str | None = None) -> list[dict]:
    """What follows an answer's text: its sources, notices and buttons (a streamed answer gets them when its
    stream stops, its text having arrived word by word)."""
    blocks: list[dict] = []
    if answer.citations:
        lines = [source_line(c) for c in answer.citations]
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": "*Sources*\n" + "\n".join(lines)[:SECTION_LIMIT - 20]}]})
    for extra in (answer.notice, note):
        if extra:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": extra[:SECTION_LIMIT]}]})
    if question_id is not None and (feedback or escalation):
        buttons = []
        if feedback:
            buttons += [
                {"type": "button", "action_id": FEEDBACK_UP, "value": str(question_id),
                 "text": {"type": "plain_text", "text": "Helpful"}},
                {"type": "button", "action_id": FEEDBACK_DOWN, "value": str(question_id),
                 "text": {"type": "plain_text", "text": "Not helpful"}},
            ]
        if escalation:
            buttons.append({
                "type": "button", "action_id": ESCALATE, "value": str(question_id),
                "text": {"type": "plain_text", "text": "Talk to HR: send them my question"},
                "confirm": {"title": {"type": "plain_text", "text": "Send to HR?"},
                            "text": {"type": "mrkdwn", "text": "HR will see your name and this question (not "
                                                               "the answer), and get back to you."},
                            "confirm": {"type": "plain_text", "text": "Send"},
                            "deny": {"type": "plain_text", "text": "Cancel"}}})
        blocks.append({"type": "actions", "block_id": f"answer_{question_id}", "elements": buttons})
    return blocks


def _within(parts: list[str], limit: int) -> list[str]:
    """As many whole parts as fit in `limit` characters, then a note that the answer was shortened."""
    kept, used = [], 0
    for part in parts:
        if used + len(part) > limit:
            return kept + ["_(answer shortened to fit Slack: open the cited source for the rest)_"]
        kept.append(part)
        used += len(part)
    return kept


def fallback_text(answer: Answer) -> str:
    return plain(answer.text)[:FALLBACK_LIMIT]


def help_blocks(examples: tuple[str, ...]) -> list[dict]:
    """Help with the company profile's example questions."""
    examples = "\n".join(f"- `/hr {plain(e)}`" for e in examples)
    return [section("*I answer HR questions from our policies and your own records.*\n"
                     "Ask about leave, sick pay, parental leave, benefits, expenses or remote work. Answers cite "
                     "the policy they come from; your balances are computed from your HR records and only you "
                     "see them."),
            section(f"*Try:*\n{examples}"),
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                "Message me directly for a conversation, or mention me in a channel for a policy answer in a "
                "thread (personal details come to you privately)."}]}]


def feedback_modal(question_id: int) -> dict:
    return {"type": "modal", "callback_id": FEEDBACK_MODAL, "private_metadata": str(question_id),
            "title": {"type": "plain_text", "text": "What was wrong?"},
            "submit": {"type": "plain_text", "text": "Send"},
            "close": {"type": "plain_text", "text": "Skip"},
            "blocks": [{"type": "input", "block_id": "comment", "optional": True,
                        "label": {"type": "plain_text", "text": "Tell HR what was missing or wrong"},
                        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                    "max_length": 2000}}]}


def home_view(home: HomeSummary, examples: tuple[str, ...], status: KnowledgeBaseStatus | None = None,
              words: Wording | None = None) -> dict:
    """The App Home tab, in words' language (the viewer's Slack locale's; English without it); status: the
    knowledge base's, shown to admins only (in English, like the admins' other tools)."""
    words = words or english()
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": words.say("home_title")}}]
    if home.facts:
        blocks.append(section(words.say("home_leave") + "\n" + "\n".join(f"- {plain(f)}" for f in home.facts)))
    elif home.notice:
        blocks.append(section(plain(home.notice)))
    if home.team:  # a manager's direct reports, from their records: escaped like any record
        team = words.say("home_team") + "\n" + plain(home.team[0]) + "".join(f"\n- {plain(line)}"
                                                                          for line in home.team[1:])
        blocks += [section(part) for part in split_text(team)]
    blocks.append(section(words.say("home_examples") + "\n" + "\n".join(f"- {plain(e)}" for e in examples)))
    if status is not None:
        last = status.last_upload
        blocks += [{"type": "divider"}, section(
            f"*Knowledge base* (admins)\n{status.documents} documents, {status.chunks} passages"
            + (f", last upload {last:%d %b %Y %H:%M} UTC" if last else ""))]
    return {"type": "home", "blocks": blocks}


def documents_blocks(documents: list[dict]) -> list[dict]:
    """`/hr-admin docs`: one section per document with a Remove button (confirmed before it acts)."""
    blocks = [section(f"*{len(documents)} documents in the knowledge base*")]
    for d in documents[:LISTED_DOCUMENTS]:
        when = f"{d['created_at']:%d %b %Y}" if d.get("created_at") else ""
        text = (f"*{plain(d['title'])}*\n`{plain(d['source'])}` · v{d['version']} · "
                f"{plain(d['audience'] or 'everyone')} · {d['chunk_count']} passages · "
                f"{plain(d['uploaded_by'] or 'unknown')} · {when}{version_dates(d)}")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]},
                       "accessory": {"type": "button", "action_id": DOC_REMOVE, "style": "danger",
                                     "value": d["source"][:2000], "text": {"type": "plain_text", "text": "Remove"},
                                     "confirm": {"title": {"type": "plain_text", "text": "Remove document?"},
                                                 "text": {"type": "mrkdwn", "text":
                                                          f"Answers will stop citing `{plain(d['source'])}` at once."},
                                                 "confirm": {"type": "plain_text", "text": "Remove"},
                                                 "deny": {"type": "plain_text", "text": "Keep"}}}})
    if len(documents) > LISTED_DOCUMENTS:
        blocks.append(section(f"...and {len(documents) - LISTED_DOCUMENTS} more (`hrbot docs` lists them all)."))
    return blocks


def version_dates(d: dict) -> str:
    """" · in force from 2027-04-01", " · until 2027-04-01": a listed version's dates, when it has any."""
    since = f" · in force from {d['effective_from']:%Y-%m-%d}" if d.get("effective_from") else ""
    until = f" · until {d['effective_until']:%Y-%m-%d}" if d.get("effective_until") else ""
    return since + until


def upload_summary_blocks(name: str, result, audiences: list[tuple[str, str]]) -> list[dict]:
    """What became of an admin's file; an added document gets the audience menu ((label, value) pairs from the
    company profile: everyone, then each location)."""
    if result.status in ("added", "replaced"):
        pages = f"{result.pages} pages, " if result.pages else ""
        verb = "Added" if result.status == "added" else f"Replaced with version {result.version}:"
        text = f":white_check_mark: {verb} *{plain(result.title)}* (`{plain(name)}`): {pages}{result.chunks} passages."
        if getattr(result, "effective_from", None):  # a dated version: the one answering from that day
            text += f" In force from {result.effective_from:%Y-%m-%d}."
        return [{"type": "section", "text": {"type": "mrkdwn", "text": text},
                 "accessory": {"type": "static_select", "action_id": DOC_AUDIENCE,
                               "placeholder": {"type": "plain_text", "text": "Who is it for?"},
                               "options": [{"text": {"type": "plain_text", "text": label},
                                            "value": f"{result.document_id}:{value}"}
                                           for label, value in audiences[:100]]}}]
    if result.status == "unchanged":
        text = f":information_source: `{plain(name)}` is already up to date; nothing changed."
    else:
        text = f":x: `{plain(name)}` was not added: {plain(result.reason or '')}"
    return [section(text)]


def handoff_blocks(slack_user_id: str, question: str, question_id: int, surface: str) -> list[dict]:
    """The message in HR's channel when someone asks to talk to HR."""
    return [section(f"*{mention(slack_user_id)} would like to talk to HR about:*\n>{plain(question)}"),
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
             f"Question #{question_id}, via {surface}. Reply to them directly."}]}]


def reminder_button(on: bool, slack_user_id: str, words: Wording | None = None) -> dict:
    """"Remind me" or "Stop reminders". The value names whom the button was shown to, so a click by anyone
    else (a forged or forwarded payload) is refused; the listener acts for the signed clicking user only."""
    words = words or english()
    return {"type": "button", "action_id": STOP_REMINDERS if on else REMIND_ME, "value": slack_user_id,
            "text": {"type": "plain_text", "text": words.say("stop_reminders" if on else "remind_me")[:75]}}


def reminders_home_blocks(on: bool, slack_user_id: str, words: Wording | None = None) -> list[dict]:
    """The App Home's reminders line with its button."""
    words = words or english()
    return [{"type": "section", "text": {"type": "mrkdwn", "text": words.say("reminders_on" if on else "reminders_off")},
             "accessory": reminder_button(on, slack_user_id, words)}]


def reminder_blocks(items: list[tuple[str, str]], slack_user_id: str, words: Wording | None = None) -> list[dict]:
    """A reminder DM: for each (what lapses or is left, how it was found) a section and its working (escaped:
    labels come from the profile and the figures from the records), then the button to stop them."""
    blocks: list[dict] = []
    for text, working in items[:10]:
        blocks += [section(f":calendar: {plain(text)}"),
                   {"type": "context", "elements": [{"type": "mrkdwn", "text": plain(working)[:SECTION_LIMIT]}]}]
    return blocks + [{"type": "actions", "block_id": "reminder",
                      "elements": [reminder_button(True, slack_user_id, words)]}]
