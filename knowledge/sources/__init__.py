"""Scheduled sources (issue 11): documents and employee records pulled from where they live, on a schedule,
incrementally.

store.py keeps the sources and their status; kinds.py says what each document kind lists and fetches (a folder,
web pages; Confluence and Notion in confluence.py and notion.py, through their client libraries); records.py
pulls records (BambooHR, SQL) as rows for the CSV import's checks; runner.py runs one source (one run per source
at a time across replicas, all-or-nothing removals and writes, backoff after failures). How fresh
answers' knowledge is, answering reads from the sources table itself (knowledge.answering.freshness)."""
