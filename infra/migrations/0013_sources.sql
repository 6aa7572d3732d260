-- Scheduled sources (issue 11): where documents and records live, pulled on a schedule. Settings hold no secret:
-- a credential is a reference ("env:NAME" or "file:/path"), resolved only when a run starts.
CREATE TABLE sources (
    source_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    kind             text NOT NULL,
    settings         jsonb NOT NULL DEFAULT '{}',
    audience         text,                                   -- NULL: everyone; else a location code
    every_seconds    integer NOT NULL CHECK (every_seconds >= 60),
    created_by       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_run_at      timestamptz NOT NULL DEFAULT now(),
    last_run_at      timestamptz,
    last_success_at  timestamptz,
    last_error       text,
    failures         integer NOT NULL DEFAULT 0,             -- consecutive failed runs (backoff, alerts)
    last_changes     jsonb,                                  -- {"added": n, "replaced": n, "removed": n, "unchanged": n}
    alerted_at       timestamptz                             -- when admins were last told it keeps failing
);

-- What a source last saw of each item, for incremental runs (ETag / Last-Modified, a content hash) and for
-- noticing deletions at the source.
CREATE TABLE source_items (
    source_id      bigint NOT NULL REFERENCES sources ON DELETE CASCADE,
    item_key       text NOT NULL,          -- a URL, a path, an API id
    document       text NOT NULL,          -- the document's source name in the knowledge base
    etag           text,
    last_modified  text,
    sha256         text,
    seen_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, item_key)
);
