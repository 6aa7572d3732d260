"""Scheduled sources (issue 11): documents pulled from where they live, on a schedule, incrementally.

store.py keeps the sources and their status; kinds.py says what each kind of source lists and fetches (a
folder, web pages); runner.py runs one source (one run per source at a time across replicas, all-or-nothing
removals, backoff after failures)."""
