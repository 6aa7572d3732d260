"""Row-level security: the answer path reads personal tables as hrbot_records, bound to one employee."""
import psycopg
import pytest

from knowledge.people.imports import import_csv

from knowledge.people.records import BIND_ASKER, RecordsReader
from tests.test_records_import import EMPLOYEES, LEAVE


@pytest.fixture
def two_employees(db):
    import_csv(db, EMPLOYEES.encode())
    import_csv(db, LEAVE.encode())
    return RecordsReader(db)


def test_a_query_without_where_sees_only_the_askers_rows(two_employees):
    reader = two_employees
    with reader._as_records_role() as conn:
        conn.execute(BIND_ASKER, {"employee_id": "E902"})
        assert conn.execute("SELECT employee_id, name FROM employees").fetchall() == [("E902", "Bruno Kraus")]
        assert conn.execute("SELECT request_id FROM leave_records").fetchall() == [("R2",)]
    with reader._as_records_role() as conn:  # a new transaction: the binding is gone
        assert conn.execute("SELECT count(*) FROM employees").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM leave_records").fetchone()[0] == 0


def test_the_answer_path_is_not_the_superuser(two_employees, db):
    with db.connection() as conn:
        admin = conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    with two_employees._as_records_role() as conn:
        reader = conn.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                              "WHERE rolname = current_user").fetchone()
    assert admin[1] is True                       # the embedded server's connection is a superuser...
    assert reader == ("hrbot_records", False, False)  # ...but records are read as a role bound by RLS


def test_the_records_role_cannot_write_or_rebind_to_see_more(two_employees):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with two_employees._as_records_role() as conn:
            conn.execute("UPDATE leave_records SET days = 1")
    with two_employees._as_records_role() as conn:
        conn.execute(BIND_ASKER, {"employee_id": "E901' OR '1'='1"})  # a value, never SQL
        assert conn.execute("SELECT count(*) FROM employees").fetchone()[0] == 0


def test_load_returns_one_persons_records(two_employees):
    records = two_employees.load("E901")
    assert records.employee.name == "Ada Lovelace"
    assert [r.request_id for r in records.leave] == ["R1"]
    assert two_employees.load("E000") is None


def test_resolve_by_slack_id_then_email(two_employees):
    assert two_employees.resolve("U0AAA") == "E901"
    assert two_employees.resolve("U0NOPE", "Bruno@X.example") == "E902"
    assert two_employees.resolve("U0NOPE", "nobody@x.example") is None
    assert two_employees.resolve(None) is None
