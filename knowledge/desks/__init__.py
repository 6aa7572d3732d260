"""The application's desks, one per audience: what employees (employees.py), HR admins (admins.py, sources.py,
privacy.py) and the operators and workers (operations.py) can do, whatever the surface. An entry point builds the
desks it needs from the Runtime and hands each surface only those; surfaces render what the desks return and never
reach into the database, the ingestor or the records reader."""
