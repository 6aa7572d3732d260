-- Knowledge base: documents, their chunks (vector + full-text), and the word list used for typo tolerance.
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The one embedding space all chunks live in. Changing model means `hrbot reembed`, never mixed vectors.
CREATE TABLE embedding_space (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    model       text NOT NULL,
    dimension   integer NOT NULL CHECK (dimension > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    document_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text NOT NULL,                 -- file name as uploaded; the identity across versions
    title        text NOT NULL,
    media_type   text NOT NULL,
    sha256       text NOT NULL,
    version      integer NOT NULL,
    audience     text,                          -- NULL: everyone; else a country code such as 'GB'
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'superseded', 'removed')),
    pages        integer,
    bytes        bigint NOT NULL,
    chunk_count  integer NOT NULL DEFAULT 0,
    uploaded_by  text,
    url          text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz,
    UNIQUE (source, version)
);
-- At most one live version per source name.
CREATE UNIQUE INDEX documents_one_active ON documents (source) WHERE status = 'active';

-- Only chunks of active documents exist: retiring a version deletes its chunks in the same transaction.
CREATE TABLE chunks (
    chunk_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id  bigint NOT NULL REFERENCES documents (document_id) ON DELETE CASCADE,
    ordinal      integer NOT NULL,
    page         integer,          -- 1-based page holding most of the chunk's words (NULL: no pages)
    page_start   integer,
    page_end     integer,
    section      text NOT NULL DEFAULT '',
    text         text NOT NULL,
    audience     text,             -- copied from the document so filters need no join
    embedding    vector NOT NULL,  -- typed to the space's dimension (and HNSW-indexed) when the space is set
    tsv          tsvector GENERATED ALWAYS AS (
                     setweight(to_tsvector('english', section), 'A') ||
                     setweight(to_tsvector('english', text), 'B')) STORED,
    tokens       integer GENERATED ALWAYS AS (                 -- BM25 length normalisation
                     array_length(regexp_split_to_array(section || ' ' || text, '\s+'), 1)) STORED,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_document ON chunks (document_id);

-- Surface words seen in chunks: a misspelt query word is mapped to its nearest word by trigram similarity.
CREATE TABLE lexicon (
    word text PRIMARY KEY
);
CREATE INDEX lexicon_trgm ON lexicon USING gin (word gin_trgm_ops);

-- Corpus statistics for BM25 (PostgreSQL's own ts_rank has no inverse document frequency): how many chunks
-- hold each lexeme, and the corpus size. Kept exact by statement-level triggers, whatever path changes chunks.
CREATE TABLE lexeme_stats (
    lexeme  text PRIMARY KEY,
    chunks  integer NOT NULL
);
CREATE TABLE corpus_stats (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    chunks     bigint NOT NULL DEFAULT 0,
    tokens     bigint NOT NULL DEFAULT 0
);
INSERT INTO corpus_stats DEFAULT VALUES;

CREATE FUNCTION chunks_stats_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lexeme_stats (lexeme, chunks)
    SELECT u.lexeme, count(*) FROM added, unnest(added.tsv) AS u GROUP BY u.lexeme ORDER BY u.lexeme
    ON CONFLICT (lexeme) DO UPDATE SET chunks = lexeme_stats.chunks + excluded.chunks;
    UPDATE corpus_stats SET chunks = corpus_stats.chunks + a.n, tokens = corpus_stats.tokens + a.t
    FROM (SELECT count(*) AS n, coalesce(sum(tokens), 0) AS t FROM added) a;
    RETURN NULL;
END $$;

CREATE FUNCTION chunks_stats_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lexeme_stats s SET chunks = s.chunks - r.n
    FROM (SELECT u.lexeme, count(*) AS n FROM removed, unnest(removed.tsv) AS u GROUP BY u.lexeme) r
    WHERE s.lexeme = r.lexeme;
    UPDATE corpus_stats SET chunks = corpus_stats.chunks - r.n, tokens = corpus_stats.tokens - r.t
    FROM (SELECT count(*) AS n, coalesce(sum(tokens), 0) AS t FROM removed) r;
    RETURN NULL;
END $$;

CREATE FUNCTION chunks_stats_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM lexeme_stats;
    UPDATE corpus_stats SET chunks = 0, tokens = 0;
    RETURN NULL;
END $$;

CREATE TRIGGER chunks_stats_added AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION chunks_stats_added();
CREATE TRIGGER chunks_stats_removed AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION chunks_stats_removed();
CREATE TRIGGER chunks_stats_truncated AFTER TRUNCATE ON chunks
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_stats_truncated();
