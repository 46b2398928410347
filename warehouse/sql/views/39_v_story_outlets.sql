-- v_story_outlets: who carried each multi-copy story, and when, relative to the first
-- reporter (see v_story_clusters).  One row per (story, outlet): the outlet's earliest
-- copy, its rank in the race (1 = first reporter; ties share a rank) and how many hours
-- after the first copy it came out.  Useful for "which outlets report X first".
CREATE OR REPLACE VIEW v_story_outlets AS
WITH sized AS (
    SELECT *, count(*) OVER (PARTITION BY story_key) AS n_copies FROM stg_stories
),
per_outlet AS (
    SELECT
        story_key AS cluster_id,
        outlet_name AS outlet,
        any_value(outlet_country) AS outlet_country,
        min(reported_at) AS reported_at,
        arg_min(article_id, reported_at) AS article_id,
        bool_or(coalesce(relevant, FALSE)) AS relevant
    FROM sized
    WHERE n_copies > 1
    GROUP BY story_key, outlet_name
)
SELECT
    cluster_id,
    outlet,
    outlet_country,
    article_id,
    reported_at,
    rank() OVER (PARTITION BY cluster_id ORDER BY reported_at) AS reporter_rank,
    round(
        epoch(reported_at - min(reported_at) OVER (PARTITION BY cluster_id)) / 3600.0, 2
    ) AS hours_after_first,
    relevant
FROM per_outlet
ORDER BY cluster_id, reporter_rank, outlet;
