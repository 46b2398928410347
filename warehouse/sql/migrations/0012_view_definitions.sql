-- 0012_view_definitions: which view definitions the warehouse's views were made from.
--
-- A read-write open used to drop and create every view in warehouse/sql/views each time
-- (about 0.05 s, paid by every load and alerts task).  The open now records the SHA-256
-- of the view files it created the views from, with the number of views that made, and
-- creates them again only when the files changed, a migration ran, or a view is missing.
CREATE TABLE IF NOT EXISTS view_definitions (
    sha256      VARCHAR NOT NULL,             -- of every view file's name and text, in order
    n_views     INTEGER NOT NULL,             -- user views in the warehouse after creation
    created_at  TIMESTAMPTZ NOT NULL
);
