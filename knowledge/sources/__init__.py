"""Scheduled sources (issue 11): documents and employee records pulled from where they live, on a schedule,
incrementally.

store.py keeps the sources and their status; kinds.py is the registry of kinds. What each document kind lists and
fetches is in a module of its own (folder.py, web.py; Confluence and Notion in confluence.py and notion.py, through
their client libraries), and they share only items.py (what a kind returns, SourceError) and transport.py (HTTP
with rate limits, time and size limits, credentials kept to their origin); records.py pulls records (BambooHR,
SQL) as rows for the CSV import's checks; runner.py runs one source (one run per source at a time across
replicas, all-or-nothing removals and writes, backoff after failures); how fresh answers' knowledge is, answering reads
from the sources table itself (knowledge.answering.freshness)."""
