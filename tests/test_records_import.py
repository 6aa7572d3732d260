"""CSV import: validated with line numbers, all-or-nothing, idempotent."""
import pytest

from knowledge.people.imports import RecordsRejected, import_csv

EMPLOYEES = """employee_id,slack_user_id,email,name,country,department,employment_type,fte,hire_date,end_date,manager_id
E901,U0AAA,ada@x.example,Ada Lovelace,GB,Engineering,permanent,1.0,2020-01-06,,
E902,U0BBB,bruno@x.example,Bruno Kraus,DE,Sales,permanent,0.8,2024-03-01,,E901
"""
LEAVE = """request_id,employee_id,leave_type,start_date,end_date,days,status
R1,E901,annual,2026-02-02,2026-02-06,5,approved
R2,E902,annual,2026-07-06,2026-07-07,2,pending
"""


def tables(db) -> dict:
    with db.connection() as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("employees", "leave_entitlements", "leave_records", "public_holidays")}


def test_import_and_reimport_changes_nothing(db):
    first = import_csv(db, EMPLOYEES.encode())
    assert (first.kind, first.rows, first.changed) == ("employees", 2, 2)
    again = import_csv(db, EMPLOYEES.encode())
    assert (again.rows, again.changed) == (2, 0)
    leave = import_csv(db, LEAVE.encode())
    assert (leave.kind, leave.changed) == ("leave", 2)
    assert import_csv(db, LEAVE.encode()).changed == 0
    changed = LEAVE.replace("2,pending", "2,approved")
    assert import_csv(db, changed.encode()).changed == 1
    assert tables(db)["leave_records"] == 2


@pytest.mark.parametrize("row,message", [
    ("R3,E999,annual,2026-02-02,2026-02-03,2,approved", "line 3: unknown employee 'E999'"),
    ("R3,E901,annual,2026-02-05,2026-02-02,2,approved", "line 3: end_date 2026-02-02 is before start_date"),
    ("R3,E901,annual,2026-02-31,2026-03-02,2,approved", "line 3: start_date '2026-02-31' is not a date"),
    ("R3,E901,annual,2026-02-02,2026-02-03,-1,approved", "line 3: days must not be negative"),
    ("R3,E901,holiday,2026-02-02,2026-02-03,1,approved", "line 3: unknown leave type 'holiday'"),
    ("R1,E901,annual,2026-02-02,2026-02-06,5,approved", "line 3: duplicate of line 2"),
    ("R3,E901,annual,2026-02-02,2026-02-03,1,maybe", "line 3: status 'maybe' must be one of"),
    ("R3,E901,annual,2026-02-02,2026-02-03,9,approved", "line 3: 9 days do not fit"),
    ("R3,E901,annual,2026-02-02", "line 3: expected 7 values, found 4"),
])
def test_a_bad_row_is_reported_by_line_and_nothing_is_written(db, row, message):
    import_csv(db, EMPLOYEES.encode())
    before = tables(db)
    bad = LEAVE.splitlines()[0] + "\n" + LEAVE.splitlines()[1] + "\n" + row + "\n"
    with pytest.raises(RecordsRejected) as info:
        import_csv(db, bad.encode())
    assert any(e.startswith(message) for e in info.value.errors), info.value.errors
    assert "nothing was changed" in str(info.value)
    assert tables(db) == before  # the good line 2 was not written either


def test_every_error_is_listed_not_just_the_first(db):
    bad = EMPLOYEES + "E903,,carl@x.example,Carl,XX1,Ops,permanent,1.5,2026-13-01,,E777\n"
    with pytest.raises(RecordsRejected) as info:
        import_csv(db, bad.encode())
    errors = " / ".join(info.value.errors)
    for part in ("country 'XX1'", "fte must be above 0 and at most 1", "hire_date '2026-13-01'", "manager_id 'E777'"):
        assert part in errors
    assert all(e.startswith("line 4:") for e in info.value.errors)
    assert tables(db)["employees"] == 0


@pytest.mark.parametrize("data,message", [
    (b"", "line 1: the file is empty"),
    (b"foo,bar\n1,2\n", "line 1: the header does not match any import format"),
    (b"\xff\xfe\x00b\x00a\x00d", "not UTF-8"),
    (b"employee_id,leave_type,year,base_days,carried_over\n", "has a header but no rows"),
])
def test_malformed_files_get_a_clear_error(db, data, message):
    with pytest.raises(RecordsRejected, match=message):
        import_csv(db, data)


def test_cli_import_reports_counts_and_errors(invoke, runtime, tmp_path, capsys):
    from knowledge.cli import main

    path = tmp_path / "employees.csv"
    path.write_text(EMPLOYEES)
    result = invoke("records", "import", str(path))
    assert result.exit_code == 0 and "employees.csv: 2 employees rows, 2 changed" in result.output
    bad = tmp_path / "leave.csv"
    bad.write_text(LEAVE + "R9,E404,annual,2026-01-05,2026-01-05,1,approved\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["records", "import", str(bad)], obj=runtime)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "The file was not imported; nothing was changed." in err
    assert "line 4: unknown employee 'E404'" in err


def test_values_only_the_database_would_catch_are_reported_with_their_lines(db):
    """Rounding that would store 0, overflowing numbers, an id or email another employee has (whatever the case):
    each is listed with its line and nothing is written (issue 14 item 3)."""
    import_csv(db, EMPLOYEES.encode())
    clash = ("employee_id,slack_user_id,email,name,country,hire_date\n"
             "E903,U0AAA,carla@x.example,Carla,GB,2024-01-01\n"          # Ada's Slack id
             "E904,,ADA@X.EXAMPLE,Ada Again,GB,2024-01-01\n"              # Ada's email in capitals
             "E905,U0CCC,dan@x.example,Dan,GB,2024-01-01\n"
             "E906,U0CCC,Dan@x.example,Dan Twin,GB,2024-01-01\n")         # the row above, twice
    with pytest.raises(RecordsRejected) as caught:
        import_csv(db, clash.encode())
    assert caught.value.errors == [
        "line 2: slack_user_id 'U0AAA' already belongs to employee E901",
        "line 3: email 'ada@x.example' already belongs to employee E901",
        "line 5: slack_user_id 'U0CCC' already belongs to employee E905",
        "line 5: email 'dan@x.example' already belongs to employee E905"]
    numbers = ("employee_id,leave_type,year,base_days,carried_over\n"
               "E901,annual,2026,1000000,0\nE901,annual,2027,25,0.0001\nE902,annual,2026,1000,0\n")
    with pytest.raises(RecordsRejected) as caught:
        import_csv(db, numbers.encode())
    assert caught.value.errors == ["line 2: base_days 1000000 is more than 366",
                                   "line 3: carried_over 0.0001 has more than 2 decimal places",
                                   "line 4: base_days 1000 is more than 366"]
    leave = ("request_id,employee_id,leave_type,start_date,end_date,days,status\n"
             "R1,E901,annual,2026-03-02,2026-03-02,0.0001,approved\n")
    with pytest.raises(RecordsRejected, match="line 2: days 0.0001 has more than 2 decimal places"):
        import_csv(db, leave.encode())
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM employees").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM leave_entitlements").fetchone() == (0,)


def test_emails_are_unique_whatever_their_case(db):
    import psycopg

    import_csv(db, EMPLOYEES.encode())
    with pytest.raises(psycopg.errors.UniqueViolation), db.connection() as conn:
        conn.execute("INSERT INTO employees (employee_id, email, name, country, hire_date) "
                     "VALUES ('E999', 'ADA@x.example', 'Copy', 'GB', '2024-01-01')")


def test_one_run_of_several_files_is_all_or_nothing(db, invoke, tmp_path):
    """good, bad, good: nothing is written and every error names its file (issue 14 item 2). A leave file may
    name people from an employees file of the same run, whatever order they are given in."""
    good = tmp_path / "people.csv"
    good.write_text(EMPLOYEES)
    leave = tmp_path / "leave.csv"
    leave.write_text(LEAVE)
    bad = tmp_path / "bad.csv"
    bad.write_text("request_id,employee_id,leave_type,start_date,end_date,days,status\n"
                   "R9,E404,annual,2026-03-02,2026-03-02,1,approved\n")
    with pytest.raises(RecordsRejected) as caught:
        invoke("records", "import", str(leave), str(bad), str(good))
    assert caught.value.errors == ["bad.csv: line 2: unknown employee 'E404' (import employees first)"]
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM employees").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM leave_records").fetchone() == (0,)
    result = invoke("records", "import", str(leave), str(good))
    assert result.output.splitlines() == ["people.csv: 2 employees rows, 2 changed",
                                          f"leave.csv: {LEAVE.count(chr(10)) - 1} leave rows, "
                                          f"{LEAVE.count(chr(10)) - 1} changed"]
