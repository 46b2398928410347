-- v_story_clusters: one row per story carried by more than one article (syndicated or
-- near-duplicate copies across outlets).  The story is articles.story_id (assigned at
-- load by the near-duplicate step); an article without one falls back to its exact
-- text hash, so byte-identical copies still cluster.
--   n_copies         articles in the story
--   outlets          the outlets that carried it, sorted
--   n_outlets        how many outlets
--   first_reporter   the outlet of the earliest copy (published, else fetched time)
--   first_at         that copy's time; first_day/last_day the span of the story
--   title, first_url the earliest copy's title and url
--   relevant         whether any copy is relevant to the dyad
CREATE OR REPLACE VIEW v_story_clusters AS
WITH per_story AS (
    SELECT
        story_key AS cluster_id,
        count(*) AS n_copies,
        list_sort(list_distinct(list(outlet_name))) AS outlets,
        -- the earliest copy's outlet, title and url in one pass (and from one row)
        arg_min({'outlet': outlet_name, 'title': title, 'url': url}, reported_at) AS first,
        min(reported_at) AS first_at,
        min(day) AS first_day,
        max(day) AS last_day,
        bool_or(coalesce(relevant, FALSE)) AS relevant
    FROM stg_stories
    GROUP BY story_key
    HAVING count(*) > 1
)
SELECT
    cluster_id,
    n_copies,
    outlets,
    len(outlets) AS n_outlets,
    first.outlet AS first_reporter,
    first_at,
    first_day,
    last_day,
    first.title AS title,
    first.url AS first_url,
    relevant
FROM per_story
ORDER BY last_day DESC, n_copies DESC, cluster_id;
