"""The company profile: validated whole, every problem reported with its key and line; `hrbot profile check`
says what it understood; an invalid profile stops hrbot before anything starts."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.profile.load import ProfileError, load_profile, parse_profile
from knowledge.settings import SAMPLE_PROFILE

ROOT = Path(__file__).resolve().parent.parent
HRBOT = Path(sys.executable).with_name("hrbot")  # the console script, as an admin runs it
GOOD = (Path(__file__).parent / "data" / "companies" / "harbour" / "profile.toml").read_text()

BAD = """[company]
name = "Acme"
hr_contact = "hr@acme.example"
colour = "blue"

[leave_types]
annual = "annual leave"

[locations.FR]
name = "France"
aliases = ["Paris"]
holidays = { country = "FR", subdivision = "XX" }

[locations.FR.leave.annual]
year_start = "13-01"
base_days = "lots"
rounding = "sideways"
carry_over = { max_days = 5, expires = "02-30" }

[locations.FR.leave.sick]
base_days = 5

[locations.fr]
name = "Elsewhere"

[locations.BE]
name = "Belgium"
aliases = ["paris"]

[locations.BE.leave.annual]
pro_rata = "months"
"""


def test_the_sample_and_test_profiles_load():
    sample = load_profile(SAMPLE_PROFILE)
    assert sample.locations and "annual" in sample.leave_types
    harbour = parse_profile(GOOD)
    rules = harbour.location("GB").leave["annual"]
    assert (rules.year_start, rules.rounding, rules.carry_over.expires) == ((10, 1), "up_whole", (12, 31))


def test_every_problem_is_reported_with_its_key_and_line():
    with pytest.raises(ProfileError) as caught:
        parse_profile(BAD, source="acme.toml")
    problems = caught.value.problems
    expected = [
        "line 4: company.colour: is not a known key here",
        "line 12: locations.FR.holidays.subdivision: 'XX' is not a subdivision of FR",
        "line 15: locations.FR.leave.annual.year_start: must be a date in the year as \"MM-DD\"",
        "line 16: locations.FR.leave.annual.base_days: must be a number of days (got 'lots')",
        "line 17: locations.FR.leave.annual.rounding: must be one of up_half, nearest_half",
        "line 18: locations.FR.leave.annual.carry_over.expires: must be a date in the year",
        "line 20: locations.FR.leave.sick: is not one of the profile's leave_types (annual)",
        "line 23: locations.fr: must be a location code",
        "line 28: locations.BE.aliases: 'paris' also names FR",
        "line 30: locations.BE.leave.annual: needs base_days (a yearly allowance), accrual, or unlimited = true",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in problems), (want, problems)
    assert len(problems) == len(expected), problems
    assert "acme.toml is not valid; nothing was loaded" in str(caught.value)


def test_syntax_errors_name_their_line():
    with pytest.raises(ProfileError, match=r"line 2"):
        parse_profile("[company]\nname = \n")


def test_profile_check_prints_the_rules_in_words(tmp_path):
    path = tmp_path / "harbour.toml"
    path.write_text(GOOD)
    run = subprocess.run([str(HRBOT), "profile", "check", str(path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Company: Harbour & Finch" in out
    assert "GB: UK (also: Scotland, Edinburgh, Leith)" in out
    assert "public holidays: GB-SCT from the holidays library" in out
    assert ("annual leave: 25 days a year (full-time), 26 after 3 years, 28 after 6 years, pro rata by month (a "
            "month counts from the 1st), rounded up to whole days; leave year from 1 October; carry-over up to 5 "
            "days, used by 31 December") in out
    assert "for fixed_term: pro_rata = calendar_days" in out and "for department Warehouse: base_days = 22" in out


def test_an_invalid_profile_stops_hrbot_before_anything_starts(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(BAD)
    env = {**os.environ, "HRBOT_PROFILE": str(path), "HRBOT_DATA_DIR": str(tmp_path / "data")}
    for args in (["profile", "check"], ["docs"], ["start"]):
        run = subprocess.run([str(HRBOT), *args], capture_output=True, text=True, cwd=tmp_path,
                             env=env, timeout=120, stdin=subprocess.DEVNULL)
        assert run.returncode == 1, (args, run.stdout, run.stderr)
        assert "is not valid; nothing was loaded" in run.stderr and "line 16: locations.FR.leave.annual.base_days" \
            in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    assert not (tmp_path / "data").exists()  # no database was started for a profile that cannot load


def test_the_leave_types_named_to_managers_are_checked_and_none_is_the_default():
    """team_view_types (outside review: sick leave was shown to managers by name): unset, the team view names no
    type; a code that is not one of the leave types is reported by key and line."""
    assert parse_profile(GOOD).team_view_types == frozenset()
    assert load_profile(SAMPLE_PROFILE).team_view_types == frozenset({"annual"})
    named = GOOD.replace('hr_contact = "the people team at people@harbourfinch.example"\n',
                         'hr_contact = "the people team at people@harbourfinch.example"\n'
                         'team_view_types = ["annual", "sickness"]\n')
    with pytest.raises(ProfileError) as caught:
        parse_profile(named)
    assert caught.value.problems == ["line 6: company.team_view_types: 'sickness' is not one of the profile's "
                                     "leave_types"], caught.value.problems


def test_profile_check_says_which_leave_types_managers_see_named():
    from click.testing import CliRunner

    from bot.cli import cli

    result = CliRunner().invoke(cli, ["profile", "check", str(SAMPLE_PROFILE)])
    assert result.exit_code == 0, result.output
    assert "Leave types a manager's team view names (any other is shown as off): annual leave\n" in result.output


def test_the_hr_contact_in_each_language(sample_runtime):
    """[company.hr_contact_in]: a German answer named the English contact ("wenden Sie sich an the HR team")."""
    import json

    from click.testing import CliRunner

    from bot.cli import cli
    from knowledge.profile.load import ProfileError, parse_profile

    profile = sample_runtime.profile
    assert profile.hr_contact_in == {"de": "das HR-Team in #ask-hr oder hr@fernhill.example"}
    assert profile.contact("de", profile.hr_contact) == "das HR-Team in #ask-hr oder hr@fernhill.example"
    assert profile.contact("en", profile.hr_contact) == profile.hr_contact
    assert profile.contact("de", "Payroll, ext. 42") == "Payroll, ext. 42"  # HRBOT_HR_CONTACT overrides all

    def ask(question: str) -> str:
        result = CliRunner().invoke(cli, ["ask", "--json", "--as", "U0SAMPLE", question], obj=sample_runtime,
                                    catch_exceptions=False)
        return json.loads(result.output)["answer"]

    assert "wenden Sie sich an das HR-Team in #ask-hr" in ask("Wie viel Urlaub hat Jonas noch?")  # a refusal
    assert "contact the HR team in #ask-hr" in ask("How much leave does Jonas have left?")
    text = SAMPLE_PROFILE.read_text().replace('de = "das HR-Team', 'fr = "le service RH', 1)
    with pytest.raises(ProfileError, match=r"company\.hr_contact_in\.fr: is not one of company\.languages"):
        parse_profile(text)
