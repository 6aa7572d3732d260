"""The job queue's tables (procrastinate), from the schema that ships inside the installed package."""
from importlib.resources import files


def upgrade(conn) -> None:
    conn.execute((files("procrastinate") / "sql" / "schema.sql").read_text())
