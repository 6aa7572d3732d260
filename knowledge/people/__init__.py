"""Employees' own records: the import of HR exports, the reader behind row-level security, leave balances."""
