"""Block Kit rendering of answers, help and App Home, within Slack's limits."""
from __future__ import annotations

from knowledge.answers import Answer

SECTION_LIMIT = 3000      # characters in one section's text
MAX_BLOCKS = 50           # blocks in one message
FALLBACK_LIMIT = 3000     # the notification / screen-reader text
EXAMPLES = ["How much annual leave do I have?", "Does our dental plan cover implants?",
            "How do I claim expenses for a client dinner?", "Can I work from abroad for a few weeks?"]
THINKING = "Looking that up..."


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
    where = " · ".join(x for x in (citation.section.split(" > ")[-1] if citation.section else "",
                                   f"p. {citation.page}" if citation.page else "") if x)
    title = citation.title.replace("<", "").replace(">", "").replace("|", "/")
    if citation.url:
        title = f"<{citation.url}|{title}>"
    return f"*[{citation.n}]* {title}" + (f" — {where}" if where else "")


def answer_blocks(answer: Answer, question_id: int | None, *, feedback: bool = True,
                  escalation: bool = True, note: str | None = None) -> list[dict]:
    blocks: list[dict] = [section(part) for part in split_text(answer.text)]
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
                {"type": "button", "action_id": "hr_feedback_up", "value": str(question_id),
                 "text": {"type": "plain_text", "text": "Helpful"}},
                {"type": "button", "action_id": "hr_feedback_down", "value": str(question_id),
                 "text": {"type": "plain_text", "text": "Not helpful"}},
            ]
        if escalation:
            buttons.append({
                "type": "button", "action_id": "hr_escalate", "value": str(question_id),
                "text": {"type": "plain_text", "text": "Talk to HR: send them my question"},
                "confirm": {"title": {"type": "plain_text", "text": "Send to HR?"},
                            "text": {"type": "mrkdwn", "text": "HR will see your name and this question (not "
                                                               "the answer), and get back to you."},
                            "confirm": {"type": "plain_text", "text": "Send"},
                            "deny": {"type": "plain_text", "text": "Cancel"}}})
        blocks.append({"type": "actions", "block_id": f"answer_{question_id}", "elements": buttons})
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[:MAX_BLOCKS - 2] + [section("_(answer shortened to fit Slack)_")] + blocks[-1:]
    return blocks


def fallback_text(answer: Answer) -> str:
    return answer.text[:FALLBACK_LIMIT]


def help_blocks() -> list[dict]:
    examples = "\n".join(f"- `/hr {e}`" for e in EXAMPLES)
    return [section("*I answer HR questions from our policies and your own records.*\n"
                     "Ask about leave, sick pay, parental leave, benefits, expenses or remote work. Answers cite "
                     "the policy they come from; your balances are computed from your HR records and only you "
                     "see them."),
            section(f"*Try:*\n{examples}"),
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                "Message me directly for a conversation, or mention me in a channel for a policy answer in a "
                "thread (personal details come to you privately)."}]}]


def feedback_modal(question_id: int) -> dict:
    return {"type": "modal", "callback_id": "hr_feedback_modal", "private_metadata": str(question_id),
            "title": {"type": "plain_text", "text": "What was wrong?"},
            "submit": {"type": "plain_text", "text": "Send"},
            "close": {"type": "plain_text", "text": "Skip"},
            "blocks": [{"type": "input", "block_id": "comment", "optional": True,
                        "label": {"type": "plain_text", "text": "Tell HR what was missing or wrong"},
                        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                    "max_length": 2000}}]}


def home_view(facts: list[str], notice: str | None, admin_status: dict | None) -> dict:
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": "Your HR assistant"}}]
    if facts:
        blocks.append(section("*Your leave this year*\n" + "\n".join(f"- {f}" for f in facts)))
    elif notice:
        blocks.append(section(notice))
    blocks.append(section("*Ask me things like*\n" + "\n".join(f"- {e}" for e in EXAMPLES)))
    if admin_status is not None:
        last = admin_status.get("last_upload")
        blocks += [{"type": "divider"}, section(
            f"*Knowledge base* (admins)\n{admin_status['documents']} documents, {admin_status['chunks']} passages"
            + (f", last upload {last:%d %b %Y %H:%M} UTC" if last else ""))]
    return {"type": "home", "blocks": blocks}
