"""The job queue's tables (procrastinate). `knowledge.database.connection.upgrade` also runs upgrade_job_queue after every
upgrade, so migrations shipped by a newer procrastinate reach existing databases."""
from knowledge.database.job_schema import upgrade_job_queue


def upgrade(conn) -> None:
    upgrade_job_queue(conn)
