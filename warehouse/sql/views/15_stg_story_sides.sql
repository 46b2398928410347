-- stg_story_sides: every relevant article with its story and its outlet's side, for the
-- framing views (v_story_framing, v_framing_weekly).
--   outlet_side  from the outlet's country (articles.outlet_country, else sources.country):
--                'IR' iran, 'PK' pakistan (the watch's [[dyad]] codes), any other code
--                third_country, none unknown
CREATE OR REPLACE VIEW stg_story_sides AS
WITH source AS (
    SELECT
        s.story_key,
        s.outlet_name,
        s.title,
        s.reported_at,
        s.day,
        s.date_trusted,
        a.tone_score,
        a.tone,
        nullif(coalesce(s.outlet_country, src.country), '') AS country
    FROM stg_stories AS s
    JOIN articles AS a USING (article_id)
    LEFT JOIN sources AS src ON src.source_id = a.source_id
    WHERE coalesce(s.relevant, FALSE)
)
SELECT
    * EXCLUDE (country),
    CASE
        WHEN country IS NULL THEN 'unknown'
        WHEN country = 'IR' THEN 'iran'
        WHEN country = 'PK' THEN 'pakistan'
        ELSE 'third_country'
    END AS outlet_side
FROM source;
