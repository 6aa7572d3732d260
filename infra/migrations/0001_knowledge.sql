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
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_document ON chunks (document_id);

-- Surface words seen in chunks: a misspelt query word is mapped to its nearest word by trigram similarity.
CREATE TABLE lexicon (
    word text PRIMARY KEY
);
CREATE INDEX lexicon_trgm ON lexicon USING gin (word gin_trgm_ops);
