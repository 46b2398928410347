-- 0010_entity_refreshes: which watch files the entities table was refreshed from.
--
-- The load refreshes `entities` from the watch file's gazetteer before it loads the
-- batches.  The gazetteer rarely changes: the load records the SHA-256 of the watch file
-- it refreshed from (with ENTITY_REFRESH_VERSION, the version of the code that turns a
-- gazetteer into rows) and skips the refresh while both are unchanged.  One row is kept,
-- the current file's, so going back to an earlier file refreshes again.  Written in the
-- same transaction as the entities.
CREATE TABLE IF NOT EXISTS entity_refreshes (
    watch_sha256  VARCHAR NOT NULL,           -- SHA-256 of the watch file's bytes
    code_version  INTEGER NOT NULL,           -- warehouse.load.ENTITY_REFRESH_VERSION
    refreshed_at  TIMESTAMPTZ NOT NULL,
    n_entities    INTEGER NOT NULL,           -- gazetteer entries written or found unchanged
    PRIMARY KEY (watch_sha256, code_version)
);
