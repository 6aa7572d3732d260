"""The command line is composed explicitly: the core group is Slack-free and the console script adds the Slack
commands; importing the core never imports Slack code and no module registers commands on import."""
import subprocess
import sys


def test_the_core_group_has_no_slack_commands_and_the_console_script_adds_them():
    from knowledge.cli import COMMANDS, build_cli, cli

    assert "serve" not in cli.commands and {"ingest", "sync", "admin", "db", "ask"} <= set(cli.commands)
    from bot.cli import serve, start, worker

    full = build_cli([serve, worker, start])
    assert set(full.commands) == set(cli.commands) | {"serve", "worker", "start"}
    from bot.cli import cli as console

    assert set(console.commands) == set(cli.commands) | {"serve", "worker", "start", "doctor"}
    assert "serve" not in cli.commands  # building the bot's group did not change the core one
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)


def test_importing_the_core_cli_imports_no_slack_code():
    code = ("import sys, knowledge.cli; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('slack_bolt', 'slack_sdk', 'bot')]; print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
