"""What the leave-planning tests share: the sample employees who ask, asking through `hrbot ask --json`, and the
day the period tests are read on."""
import json
from datetime import date

from click.testing import CliRunner

EASTER_2027 = date(2027, 3, 28)
TODAY = date(2026, 12, 3)  # a Thursday

HANNAH, LENA, PRIYA = "U0SAMPLE", "U06LH2OFFM", "U05K2M8PRQ"  # GB full-time, DE 0.8 FTE, GB 0.6 FTE


def ask(rt, user: str, today: str, question: str) -> dict:
    from bot.cli import cli

    result = CliRunner().invoke(cli, ["ask", "--json", "--as", user, "--today", today, question], obj=rt,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def plan_of(answer: dict, starts: str = "Leave plan") -> str:
    plans = [f for f in answer["facts"] if f.startswith(starts)]
    assert len(plans) == 1, answer
    assert plans[0] in answer["answer"]  # the offline answerer shows the computed plan as it is
    return plans[0]
