-- v_top_entities_weekly: actors and places per ISO week (its Monday) in relevant
-- articles, ranked within (week, kind) by articles then mentions (rank 1 = most covered).
--   n_articles, n_mentions  articles naming it that week, and mentions in them
--   lat, lon                the gazetteer's coordinates (places)
CREATE OR REPLACE VIEW v_top_entities_weekly AS
WITH per_week AS (
    SELECT
        week,
        kind,
        entity_id,
        any_value(name) AS name,
        any_value(country) AS country,
        any_value(lat) AS lat,
        any_value(lon) AS lon,
        count(DISTINCT article_id) AS n_articles,
        count(*) AS n_mentions
    FROM stg_mentions
    WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
    GROUP BY week, kind, entity_id
)
SELECT
    *,
    rank() OVER (PARTITION BY week, kind ORDER BY n_articles DESC, n_mentions DESC) AS rank
FROM per_week
ORDER BY week, kind, rank, name;
