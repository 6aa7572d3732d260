"""`hrbot records import` and `hrbot ask`: employee records, and answers as a given Slack user."""
from __future__ import annotations

from pathlib import Path

import click

from knowledge.cli.privacy import records_export, records_forget
from knowledge.cli.common import cli_actor, echo_json, render_text, runtime_of
from knowledge.desks.admins import AdminDesk
from knowledge.desks.privacy import PrivacyDesk


@click.group()
def records() -> None:
    """Employee records (profiles, leave entitlements, leave history, public holidays)."""


@records.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def records_import(ctx, files) -> None:
    """Import HRIS CSV exports: employees, entitlements, leave or public_holidays (told apart by their header).

    Every row is validated first; any error (reported with its line number) means nothing is written.
    Re-importing the same file changes nothing.
    """
    results = AdminDesk(runtime_of(ctx)).import_records_files([(path.name, path.read_bytes()) for path in files],
                                                              actor=cli_actor())
    for result in results:
        click.echo(f"{result.name}: {result.rows} {result.kind} rows, {result.changed} changed")


records.add_command(records_export)
records.add_command(records_forget)


@records.command("bindings")
@click.argument("who", required=False)
@click.pass_context
def records_bindings(ctx, who) -> None:
    """Which Slack account each employee is bound to (WHO: an employee id, a Slack id or an email; all if none).

    A Slack id from the records always identifies the employee. An employee with none is bound on their first
    message by the work email of their Slack profile (full members of the workspace only), once."""
    rows = PrivacyDesk(runtime_of(ctx)).bindings(who, cli_actor())
    for employee_id, name, email, slack in rows:
        click.echo(f"{employee_id:12} {slack or '(not bound)':14} {email}  {name}")
    if not rows:
        click.echo("No employee matches." if who else "No employee records yet.")


@records.command("unbind")
@click.argument("employee_id")
@click.pass_context
def records_unbind(ctx, employee_id) -> None:
    """Reset an employee's Slack binding (a wrong account was bound): their next message binds again by email."""
    previous = PrivacyDesk(runtime_of(ctx)).unbind(employee_id, cli_actor())
    click.echo(f"{employee_id} is no longer bound to {previous}." if previous else
               f"{employee_id} was not bound to a Slack account.")


@records.command("check")
@click.pass_context
def records_check(ctx) -> None:
    """Balances where the HR system (the balances import) and hrbot's computation disagree by more than half a
    day, computed as of the HR system's date. The read of everyone's records is audited."""
    lines = AdminDesk(runtime_of(ctx)).balance_check(cli_actor())
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} disagreement{'s' if len(lines) != 1 else ''}." if lines else
               "No disagreements: every HR-system balance matches hrbot's within half a day.")


@click.command()
@click.argument("question")
@click.option("--as", "slack_user_id", required=True, help="The Slack user id asking (e.g. U0123ABCD).")
@click.option("--email", default=None, help="Their work email from Slack, to link an employee record.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Answer as of this date (to reproduce an earlier answer).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--stream", "streamed", is_flag=True,
              help="Print the chat model's checked words as it writes them (as Slack streams them).")
@click.pass_context
def ask(ctx, question, slack_user_id, email, today, as_json, streamed) -> None:
    """Answer a question exactly as that Slack user would get it."""
    from knowledge.answering.answers import Asker
    from knowledge.desks.employees import EmployeeDesk

    printed = PrintedStream() if streamed and not as_json else None
    answer = EmployeeDesk(runtime_of(ctx)).answer(question, Asker(slack_user_id, email),
                                                  today=today.date() if today else None, operator=cli_actor(),
                                                  stream=printed)
    if as_json:
        echo_json(answer.as_json())
        return
    whole = render_text(answer)
    if printed is None or not printed.shown:
        click.echo(whole)
    elif whole.startswith(printed.shown):
        click.echo(whole[len(printed.shown):])
    else:  # the final check changed what was printed: the answer as checked, in full
        click.echo("\n\n(replaced by the checked answer:)\n" + whole)


class PrintedStream:
    """`hrbot ask --stream`: the answer's checked text printed as it grows."""

    def __init__(self):
        self.shown = ""

    def text(self, checked: str) -> None:
        if checked.startswith(self.shown):
            click.echo(checked[len(self.shown):], nl=False)
            self.shown = checked
