-- v_stories_daily: per reporting day, articles and distinct stories — syndicated copies
-- of one story across outlets count once (stg_stories.story_key: the MinHash story id
-- assigned at load, else the text hash) — in all and among the dyad-relevant ones.
CREATE OR REPLACE VIEW v_stories_daily AS
WITH source AS (
    SELECT day, story_key, coalesce(relevant, FALSE) AS relevant
    FROM stg_stories
    WHERE date_trusted  -- trusted dates only (v_trend_exclusions)
)
SELECT
    day,
    count(*) AS articles,
    count(DISTINCT story_key) AS stories,
    count(*) FILTER (WHERE relevant) AS relevant_articles,
    count(DISTINCT story_key) FILTER (WHERE relevant) AS relevant_stories
FROM source
GROUP BY day
ORDER BY day DESC;
