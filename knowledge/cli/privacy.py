"""`hrbot records export|forget` (one person's data) and `hrbot retention prune` (the question log's retention)."""
from __future__ import annotations

import click

from knowledge.cli.common import cli_actor, echo_json, runtime_of
from knowledge.desks.privacy import PrivacyDesk


@click.command("export")
@click.argument("who")
@click.pass_context
def records_export(ctx, who) -> None:
    """Everything hrbot holds about WHO (employee id, Slack user id or work email), as JSON: a subject access
    request. Audited."""
    echo_json(PrivacyDesk(runtime_of(ctx)).export_person(who, cli_actor()))


@click.command("forget")
@click.argument("who")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@click.pass_context
def records_forget(ctx, who, yes) -> None:
    """Erase WHO: their HR records, questions, answers and ratings, in one transaction; audit entries keep a
    one-way hash instead of their ids. Erase them in the HR system too, or the next import brings them back."""
    if not yes:
        click.confirm(f"Erase {who}'s records and everything hrbot logged about them?", abort=True)
    done = PrivacyDesk(runtime_of(ctx)).forget_person(who, cli_actor())
    click.echo(f"Erased {done['employee_records']} employee records, {done['questions']} questions and "
               f"{done['feedback']} ratings; {done['audit_entries']} audit entries now say {done['pseudonym']}.")


@click.group("retention")
def retention_group() -> None:
    """How long the question log is kept."""


@retention_group.command("prune")
@click.pass_context
def retention_prune(ctx) -> None:
    """Apply HRBOT_RETENTION_DAYS and HRBOT_PERSONAL_ANSWER_DAYS now (serve and worker do it daily)."""
    done = PrivacyDesk(runtime_of(ctx)).prune()
    click.echo(f"Removed the text of {done['answers_redacted']} answers that held personal records and deleted "
               f"{done['questions_deleted']} questions past the retention period.")
