"""`hrbot privacy`: one person's data exported or erased on request, and the retention of the question log."""
from __future__ import annotations

import click

from knowledge.cli.common import cli_actor, echo_json, runtime_of


@click.group("privacy")
def privacy_group() -> None:
    """People's data: export, erase, retention."""


@privacy_group.command("export")
@click.argument("who")
@click.pass_context
def privacy_export(ctx, who) -> None:
    """Everything hrbot holds about WHO (employee id, Slack user id or work email), as JSON. Audited."""
    echo_json(runtime_of(ctx).assistant.export_person(who, cli_actor()))


@privacy_group.command("forget")
@click.argument("who")
@click.option("--records", is_flag=True, help="Also delete their HR records (erase them in the HR system too).")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@click.pass_context
def privacy_forget(ctx, who, records, yes) -> None:
    """Erase WHO's questions, answers and ratings (and with --records their HR records), in one transaction."""
    if not yes:
        click.confirm(f"Erase everything hrbot logged about {who}{' and their HR records' if records else ''}?",
                      abort=True)
    done = runtime_of(ctx).assistant.forget_person(who, cli_actor(), records=records)
    click.echo(f"Erased {done['questions']} questions, {done['feedback']} ratings and {done['employee_records']} "
               "employee records.")


@privacy_group.command("prune")
@click.pass_context
def privacy_prune(ctx) -> None:
    """Apply the retention settings now (HRBOT_PERSONAL_ANSWER_DAYS, HRBOT_QUESTION_LOG_DAYS)."""
    done = runtime_of(ctx).assistant.prune()
    click.echo(f"Removed the text of {done['answers_redacted']} answers that held personal records and deleted "
               f"{done['questions_deleted']} questions past the retention period.")
