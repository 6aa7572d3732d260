"""Running the product: admins, usage reports, metrics, privacy, background jobs. (The audit log they write to is
knowledge.database.audit, below every room that writes to it.)"""
