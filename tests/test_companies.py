"""Not only the sample company: two more companies, each with its own profile, records and handbook. The
expected balances in tests/data/companies/*/expected.json were worked out by hand. Every case goes through
`hrbot ask --json`, as an admin checking an answer would run it."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.database.connection import Database
from knowledge.errors import HRBotError
from knowledge.runtime import Runtime
from tests.conftest import _fresh_database

COMPANIES = Path(__file__).parent / "data" / "companies"
RECORD_FILES = ["employees.csv", "entitlements.csv", "leave.csv"]  # people before the rows that refer to them


def cases():
    for company in sorted(p.name for p in COMPANIES.iterdir() if p.is_dir()):
        for i, case in enumerate(json.loads((COMPANIES / company / "expected.json").read_text())["cases"]):
            yield pytest.param(company, case, id=f"{company}-{i}-{case['as']}@{case['today']}")


@pytest.fixture(scope="module")
def company_runtimes(pg_server, settings, embeddings, invoke_with):
    """One database per company, loaded through the CLI an admin would use."""
    runtimes = {}
    for company in sorted(p.name for p in COMPANIES.iterdir() if p.is_dir()):
        folder = COMPANIES / company
        db = Database(_fresh_database(pg_server, f"hrbot_company_{company}"), server=pg_server)
        rt = Runtime(replace(settings, profile=str(folder / "profile.toml")), db=db, embeddings=embeddings)
        result = invoke_with(rt, "records", "import", *[str(folder / name) for name in RECORD_FILES])
        assert result.exit_code == 0, result.output
        result = invoke_with(rt, "ingest", str(folder / "handbook.md"))
        assert result.exit_code == 0, result.output
        runtimes[company] = rt
    yield runtimes
    for rt in runtimes.values():
        rt.db.close()


@pytest.fixture(scope="module")
def invoke_with():
    from click.testing import CliRunner

    from bot.cli import cli

    def run(rt, *args):
        return CliRunner().invoke(cli, list(args), obj=rt, catch_exceptions=False)

    return run


@pytest.mark.parametrize("company,case", list(cases()))
def test_balances_and_privacy_for_another_company(company_runtimes, invoke_with, company, case):
    result = invoke_with(company_runtimes[company], "ask", "--json", "--as", case["as"], "--today", case["today"],
                         case["question"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    seen = "\n".join([answer["answer"], *answer["facts"]])
    for expected in case.get("expect", []):
        assert expected in seen, f"{case.get('why')}\n---\n{seen}"
    for unexpected in case.get("not_expect", []):
        assert unexpected not in seen, seen
    if "kind" in case:
        assert answer["kind"] == case["kind"], seen
    assert answer["notice"] is None  # every case's asker has a record linked to their Slack id


def test_each_company_names_its_own_places_and_menus(company_runtimes):
    northwind = company_runtimes["northwind"].profile
    assert northwind.audiences() == [("Everyone", "all"), ("California only", "US-CA"), ("New York only", "US-NY"),
                                     ("India only", "IN")]
    assert northwind.mentioned("Can I work from our Bangalore office?") == {"IN"}
    assert company_runtimes["harbour"].settings.hr_contact == "the people team at people@harbourfinch.example"
    assert company_runtimes["northwind"].settings.escalation_channel == "C0PEOPLEOPS"


def test_a_location_outside_the_profile_is_refused_with_its_line(company_runtimes, tmp_path, invoke_with):
    bad = tmp_path / "employees.csv"
    bad.write_text("employee_id,email,name,country,hire_date\nH009,x@harbourfinch.example,X Y,DE,2026-01-05\n")
    with pytest.raises(HRBotError, match=r"line 2: country 'DE' is not a location in the company profile "
                                         r"\(its locations: GB\)"):
        invoke_with(company_runtimes["harbour"], "records", "import", str(bad))


def test_answers_search_with_the_askers_location_and_cite_their_handbook(company_runtimes, invoke_with):
    result = invoke_with(company_runtimes["northwind"], "ask", "--json", "--as", "UNW00003", "--today", "2026-06-15",
                         "Does casual leave carry over?")
    answer = json.loads(result.output)
    assert answer["citations"] and answer["citations"][0]["source"] == "handbook.md"
    assert re.search(r"Casual leave (in India|does not carry over)", answer["answer"]), answer["answer"]
