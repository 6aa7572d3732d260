-- Policy versions with effective dates (issue 26, item 5). A document (one `source` name) may now have several live
-- versions, each in force from its `effective_from` (NULL: since always) until the next one's date. A version is
-- in force on day D when its effective_from <= D and no later live version of the same source has effective_from
-- <= D; retrieval filters on that inside its one statement (knowledge/search/retrieval.py). Every existing row keeps
-- NULL, so a knowledge base without dated versions answers exactly as before.
ALTER TABLE documents ADD COLUMN effective_from date;

-- One live version per source and date (was: one per source). A new file for the same source and date replaces
-- that version (superseded, its chunks deleted, as before); a file for another date adds a version beside it.
DROP INDEX documents_one_active;
CREATE UNIQUE INDEX documents_one_active_per_date ON documents (source, coalesce(effective_from, '-infinity'::date))
    WHERE status = 'active';

-- The sources that have a dated live version: the only ones whose versions retrieval must choose between, found
-- without reading the other documents.
CREATE INDEX documents_dated ON documents (source) WHERE status = 'active' AND effective_from IS NOT NULL;
