-- stg_articles: every article with its reporting day and week (UTC).
--   day  = published_at's date, falling back to fetched_at when the page had no date
--   week = the Monday starting day's ISO week
--   date_trusted = the day is a publication date we believe: not a fetch-time
--     fallback and not flagged (future, before the outlet existed; extractors/dates.py).
--     Trend views count only these rows; v_trend_exclusions counts the others.
-- Staging layer: analysts use the v_* views built on it.
CREATE OR REPLACE VIEW stg_articles AS
WITH source AS (
    SELECT * FROM articles
),
dated AS (
    SELECT
        *,
        CAST(timezone('UTC', coalesce(published_at, fetched_at)) AS DATE) AS day,
        published_at IS NULL AS day_from_fetch,
        published_at IS NOT NULL
            AND coalesce(date_source, '') <> 'fetch_time'
            AND date_flag IS NULL AS date_trusted
    FROM source
)
SELECT
    *,
    CAST(date_trunc('week', day) AS DATE) AS week
FROM dated;
