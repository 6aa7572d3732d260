"""The `hrbot` command line: the admin's and the scripts' interface to the same core the Slack bot uses.
The root command is composed here from the command modules, explicitly; `bot.cli` adds the Slack commands."""
from __future__ import annotations

import sys
from typing import Iterable

import click

from knowledge.cli import admin, chat, database, documents, evaluation, people, privacy, profile, sources
from knowledge.errors import HRBotError, disk_full_cause, disk_full_message
from knowledge.runtime import Runtime
from knowledge.settings import Settings

COMMANDS = [database.db, documents.ingest, documents.search, documents.docs, documents.remove, documents.reembed,
            documents.sync, people.records, people.ask, evaluation.eval_group, chat.demo, admin.admin_group,
            admin.audit_cmd, profile.profile_group, privacy.retention_group, sources.sources_group]


def _root(ctx: click.Context) -> None:
    """HR assistant: cited answers from HR documents and the asker's own records.

    Configuration comes from the environment and an optional .env file; see README.md.
    """
    if ctx.obj is None:  # tests hand in a ready Runtime
        settings = Settings.from_env()
        from knowledge.operations.logs import configure

        configure(settings.log_level, settings.log_format)
        ctx.obj = Runtime(settings)
        ctx.call_on_close(ctx.obj.close)


def build_cli(extra_commands: Iterable[click.Command] = ()) -> click.Group:
    """The root `hrbot` group with the core commands and any others (the Slack ones, from bot.cli)."""
    group = click.group("hrbot", context_settings={"help_option_names": ["-h", "--help"]})(click.pass_context(_root))
    for command in [*COMMANDS, *extra_commands]:
        group.add_command(command)
    return group


cli = build_cli()


def main(argv: list[str] | None = None, obj: Runtime | None = None,
         extra_commands: Iterable[click.Command] = ()) -> None:
    """Console entry point: domain errors become one kind line on stderr and exit status 1."""
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting: pass it on to the shell.
        code = build_cli(extra_commands).main(args=argv, prog_name="hrbot", standalone_mode=False, obj=obj)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except Exception as exc:
        # A full disk fails wherever it is met (starting the embedded server, a migration, a write, a WAL
        # write's PANIC): one line naming the cause and what to free, never a traceback, exit status 1.
        if disk_full_cause(exc) is not None:
            click.echo(f"Error: {disk_full_message(exc)}", err=True)
            sys.exit(1)
        if isinstance(exc, HRBotError):
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        raise
    if isinstance(code, int) and code:
        sys.exit(code)
