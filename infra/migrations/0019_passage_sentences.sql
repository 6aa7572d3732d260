-- Each passage's sentences with their vectors (issue 24): the re-ranker and the offline answerer's quotes judge
-- sentences, and a sentence's vector never changes until its passage does, so it is computed once when the passage
-- is stored and read with the search candidates, instead of being embedded (and cached) by every process.
--
-- `text` is the sentence as quoted; its vector is that of the sentence read in context (a list item with its
-- heading: knowledge/search/sentences.py). `embedding` is typed to the embedding space's dimension when the
-- space is set, like chunks.embedding (knowledge/search/embeddings.py); `embedding_ml` is the multilingual model's
-- (NULL while HRBOT_MULTILINGUAL is off). Passages stored before this migration have no rows until the worker's
-- complete_vectors job (or `hrbot reembed`) fills them; SQL cannot embed. halfvec: half the disk and transfer of
-- vector, and the re-ranking and quoting figures are unchanged (docs/benchmarks.md, issue 24).
CREATE TABLE passage_sentences (
    chunk_id      bigint NOT NULL REFERENCES chunks (chunk_id) ON DELETE CASCADE,
    position      integer NOT NULL CHECK (position >= 0),
    text          text NOT NULL,
    page          integer,        -- the page the sentence starts on (NULL: not known)
    embedding     halfvec,
    embedding_ml  halfvec(512),
    PRIMARY KEY (chunk_id, position)
);

-- A sentence is visible exactly where its passage is: whatever keeps a passage from a role (a policy on chunks)
-- keeps its sentences too. The owner (migrations, ingestion, the fill job) is not bound by this table's RLS; the
-- runtime role may only read (knowledge/database/roles.py).
ALTER TABLE passage_sentences ENABLE ROW LEVEL SECURITY;
CREATE POLICY with_its_passage ON passage_sentences FOR SELECT
    USING (EXISTS (SELECT 1 FROM chunks c WHERE c.chunk_id = passage_sentences.chunk_id));

-- Typed now when the space already is (an upgraded knowledge base); otherwise the first document types it.
DO $$
DECLARE dim integer;
BEGIN
    SELECT dimension INTO dim FROM embedding_space;
    IF dim IS NOT NULL THEN
        EXECUTE format('ALTER TABLE passage_sentences ALTER COLUMN embedding TYPE halfvec(%s)', dim);
    END IF;
END $$;
