-- Where each page begins in a passage (issue 27): [[offset, page], ...], first at offset 0, so a sentence's page is
-- the page of the pair at or before its start and a citation can name the page of the sentence that answers
-- rather than the page holding most of the passage. NULL for passages without pages and for those stored before
-- this migration (they keep their one page until the document is ingested again).
ALTER TABLE chunks ADD COLUMN page_starts jsonb;
