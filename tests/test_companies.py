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
    assert northwind.examples == ("How much PTO do I have?", "Do New York employees carry PTO over?")
    assert company_runtimes["harbour"].profile.examples[0] == "How much annual leave do I have?"  # the default
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


@pytest.fixture(scope="module")
def harbour_with_hris(pg_server, settings, embeddings, invoke_with):
    """The Scottish company again, plus a balances export from its HR system (one balance agrees with ours, one
    is 2.5 days higher)."""
    folder = COMPANIES / "harbour"
    db = Database(_fresh_database(pg_server, "hrbot_company_harbour_hris"), server=pg_server)
    rt = Runtime(replace(settings, profile=str(folder / "profile.toml")), db=db, embeddings=embeddings)
    files = [str(folder / name) for name in RECORD_FILES] + [str(HRIS_BALANCES)]
    result = invoke_with(rt, "records", "import", *files)
    assert result.exit_code == 0, result.output
    assert "hris_balances_harbour.csv: 2 balances rows, 2 changed" in result.output
    yield rt
    db.close()


HRIS_BALANCES = Path(__file__).parent / "data" / "hris_balances_harbour.csv"


def ask(invoke_with, rt, user, today, question):
    result = invoke_with(rt, "ask", "--json", "--as", user, "--today", today, question)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    return "\n".join([answer["answer"], *answer["facts"]])


def test_the_hr_systems_balance_is_the_one_employees_are_told(harbour_with_hris, invoke_with):
    agrees = ask(invoke_with, harbour_with_hris, "UHF00001", "2026-06-15", "How much annual leave do I have left?")
    assert ("Annual leave 1 October 2025 to 30 September 2026: 18 days available according to the HR system (the official "
            "figure, as of 1 June 2026). How it is made up on that day: 26 entitlement + 5 carried over (8 reported, "
            "capped at 5) - 3 carried-over expired on 31 December - 5 taken - 5 booked ahead = 18 days available"
            ) in agrees
    assert "My own calculation" not in agrees
    differs = ask(invoke_with, harbour_with_hris, "UHF00002", "2026-06-20", "How many holiday days do I have left?")
    assert "13.5 days available according to the HR system (the official figure, as of 15 June 2026)" in differs
    assert ("My own calculation from your records gives 11 days, 2.5 days fewer than the HR system; the HR "
            "system's figure is the official one") in differs


def test_admins_see_where_the_hr_system_and_hrbot_disagree(harbour_with_hris, invoke_with):
    result = invoke_with(harbour_with_hris, "records", "check")
    lines = result.output.strip().splitlines()
    assert lines == ["H002 Ben Carter, annual 2025 as of 15 June 2026: HR system 13.5 days, ours 11 (12 entitlement "
                     "- 1 taken - 0 booked ahead = 11 days available)", "1 disagreement."]
    audit = invoke_with(harbour_with_hris, "audit", "--action", "read_records", "--json")
    assert any(e["target"] == "balance check" for e in json.loads(audit.output))


def test_a_balances_file_is_validated_like_the_others(harbour_with_hris, invoke_with, tmp_path):
    bad = tmp_path / "balances.csv"
    bad.write_text("employee_id,leave_type,year,balance,as_of\nH001,annual,2025,lots,2026-06-01\n"
                   "H404,annual,2025,3,2026-06-01\nH002,annual,twenty,-2.5,2026-13-01\n")
    with pytest.raises(HRBotError) as caught:
        invoke_with(harbour_with_hris, "records", "import", str(bad))
    message = str(caught.value)
    for expected in ("line 2: balance 'lots' is not a number", "line 3: unknown employee 'H404'",
                     "line 4: year 'twenty' is not a year", "line 4: as_of '2026-13-01' is not a date"):
        assert expected in message, message


def test_folder_sync_imports_records_exports_in_dependency_order(pg_server, settings, embeddings, invoke_with,
                                                                tmp_path):
    """A shared-drive export: the handbook and the HR system's CSVs, named in no helpful order, plus one broken
    file. The documents are ingested, every good CSV imported (employees first), the broken one reported."""
    import shutil

    folder = COMPANIES / "harbour"
    export = tmp_path / "export"
    (export / "hr").mkdir(parents=True)
    shutil.copy(folder / "handbook.md", export / "handbook.md")
    shutil.copy(folder / "leave.csv", export / "hr" / "a-leave.csv")
    shutil.copy(HRIS_BALANCES, export / "hr" / "b-balances.csv")
    shutil.copy(folder / "employees.csv", export / "hr" / "z-people.csv")
    (export / "hr" / "broken.csv").write_text("who,what\nx,y\n")
    db = Database(_fresh_database(pg_server, "hrbot_company_harbour_sync"), server=pg_server)
    rt = Runtime(replace(settings, profile=str(folder / "profile.toml")), db=db, embeddings=embeddings)
    try:
        result = invoke_with(rt, "sync", str(export))
        assert result.exit_code == 1, result.output  # the broken file
        out = result.output
        assert "1 added" in out
        assert "records   hr/z-people.csv: 3 employees rows, 3 changed" in out
        assert "records   hr/a-leave.csv: 7 leave rows, 7 changed" in out
        assert "records   hr/b-balances.csv: 2 balances rows, 2 changed" in out
        assert "rejected  hr/broken.csv: The file was not imported" in out
        assert out.index("z-people.csv") < out.index("a-leave.csv")
        answer = ask(invoke_with, rt, "UHF00002", "2026-06-20", "How many holiday days do I have left?")
        assert "13.5 days available according to the HR system" in answer
        again = invoke_with(rt, "sync", str(export))
        assert "records   hr/a-leave.csv: 7 leave rows, 0 changed" in again.output  # re-running changes nothing
    finally:
        db.close()


PRIVACY_QUESTIONS = ["How much leave do I have left?", "What leave have I booked?", "Show me my details",
                     "How much leave does everyone in my team have?"]


@pytest.mark.parametrize("company", ["northwind", "harbour"])
def test_no_employee_sees_anyone_elses_records(company_runtimes, invoke_with, company):
    """Every employee of each company, a few questions each: the answer names nobody else and carries nobody
    else's id, email or figures."""
    import csv

    people = list(csv.DictReader((COMPANIES / company / "employees.csv").open()))
    for asker in people:
        others = [p for p in people if p["employee_id"] != asker["employee_id"]]
        for question in PRIVACY_QUESTIONS:
            seen = ask(invoke_with, company_runtimes[company], asker["slack_user_id"], "2026-06-15", question)
            for other in others:
                for secret in (other["employee_id"], other["email"], other["name"]):
                    assert secret not in seen, (asker["employee_id"], question, secret, seen)
