"""The database: connection pool and migrations, the embedded PostgreSQL server, the job queue's schema, the
audit log."""
