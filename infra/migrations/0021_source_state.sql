-- Incremental sources (issue 25). A service's cursor (Microsoft Graph's deltaLink, Google Drive's page token) and
-- a change-notification subscription, per source: saved only once a run has applied everything up to the cursor,
-- so a run that fails half-way starts again from the last cursor it finished. Written by the owner (a source's
-- run); the runtime role reads it only, like sources and source_items (roles.runtime_privileges()).
CREATE TABLE source_state (
    source_id   bigint NOT NULL REFERENCES sources ON DELETE CASCADE,
    name        text NOT NULL,              -- 'delta', 'scope', 'subscription', ...
    value       text NOT NULL,
    expires_at  timestamptz,                -- a subscription's end, when the service gives one
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, name)
);

-- The folders and files a delta source has seen, by the service's item id. A Graph delta names an item's parent by
-- id only (no path: a folder's rename reports the folder, not what is in it), so documents' paths, the folder a
-- source is scoped to and the renames and moves of whole folders are worked out from this tree.
CREATE TABLE source_tree (
    source_id  bigint NOT NULL REFERENCES sources ON DELETE CASCADE,
    item_id    text NOT NULL,
    parent_id  text,
    name       text NOT NULL,
    folder     boolean NOT NULL,
    PRIMARY KEY (source_id, item_id)
);
