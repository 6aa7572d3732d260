"""`hrbot demo`: a terminal chat as a sample employee."""
from __future__ import annotations

import click

from knowledge.cli.common import render_text, runtime_of


@click.command()
@click.option("--as", "slack_user_id", default=None, help="Chat as this Slack user (default: the sample employee).")
@click.pass_context
def demo(ctx, slack_user_id) -> None:
    """Embedded database + sample content + a terminal chat as a sample employee."""
    from knowledge.answering.answers import Asker
    from knowledge.desks.employees import EmployeeDesk

    rt = runtime_of(ctx)
    click.echo("Preparing the sample company (the first run embeds about 200 passages)...")
    rt.load_samples()
    user = slack_user_id or rt.profile.demo_user
    if not user:
        raise click.UsageError("Name the Slack user to chat as with --as (the profile sets no company.demo_user).")
    mode = "chat model " + rt.settings.chat_model if rt.llm is not None else "offline answerer (no chat model set)"
    click.echo(f"Ready: you are {user}, answers by the {mode}. Try \"How much annual leave do I have?\" "
               "Empty line or Ctrl-D quits.")
    desk = EmployeeDesk(rt)
    history: list[tuple[str, str]] = []
    while True:
        try:
            question = click.prompt("you", default="", show_default=False, prompt_suffix="> ")
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        answer = desk.answer(question, Asker(user), history=history)
        click.echo("\n" + render_text(answer) + "\n")
        history += [("user", question), ("assistant", answer.text)]
