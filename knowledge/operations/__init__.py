"""Running the product: admins and the audit log, usage reports, background jobs."""
