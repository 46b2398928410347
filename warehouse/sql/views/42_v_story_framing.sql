-- v_story_framing: the same story as each side tells it.  One row per story (syndicated
-- copies share stg_stories.story_key) among relevant articles, with its volume and mean
-- article tone (-10 conflict .. +10 cooperation) in Iranian, Pakistani and third-country
-- outlets, and in outlets of unknown country (the outlet side of stg_story_sides).
--   n_sides        how many of iran / pakistan / third_country covered it
--   tone_gap_iran_pakistan  mean_tone_iran - mean_tone_pakistan (NULL unless both)
--   framing        'one_side' (fewer than two of the three covered it), 'opposed' (one
--                  side's mean tone above +1, another's below -1: the labels' thresholds),
--                  'divergent' (side means 3 or more apart), else 'aligned'
--   outlets        'Outlet (side)' of every copy, first reporter first
CREATE OR REPLACE VIEW v_story_framing AS
WITH per_story AS (
    SELECT
        story_key AS story_id,
        arg_min(title, reported_at) AS title,
        min(day) AS first_day,
        count(*) AS n_articles,
        count(*) FILTER (WHERE outlet_side = 'iran') AS n_iran,
        avg(tone_score) FILTER (WHERE outlet_side = 'iran') AS mean_tone_iran,
        count(*) FILTER (WHERE outlet_side = 'pakistan') AS n_pakistan,
        avg(tone_score) FILTER (WHERE outlet_side = 'pakistan') AS mean_tone_pakistan,
        count(*) FILTER (WHERE outlet_side = 'third_country') AS n_third_country,
        avg(tone_score) FILTER (WHERE outlet_side = 'third_country')
            AS mean_tone_third_country,
        count(*) FILTER (WHERE outlet_side = 'unknown') AS n_unknown,
        avg(tone_score) FILTER (WHERE outlet_side = 'unknown') AS mean_tone_unknown,
        list(outlet_name || ' (' || outlet_side || ')' ORDER BY reported_at, outlet_name)
            AS outlets
    FROM stg_story_sides
    GROUP BY story_key
),
compared AS (
    SELECT
        *,
        (n_iran > 0)::INTEGER + (n_pakistan > 0)::INTEGER + (n_third_country > 0)::INTEGER
            AS n_sides,
        greatest(mean_tone_iran, mean_tone_pakistan, mean_tone_third_country) AS top_tone,
        least(mean_tone_iran, mean_tone_pakistan, mean_tone_third_country) AS bottom_tone
    FROM per_story
)
SELECT
    story_id,
    title,
    first_day,
    n_articles,
    n_sides,
    n_iran,
    round(mean_tone_iran, 3) AS mean_tone_iran,
    n_pakistan,
    round(mean_tone_pakistan, 3) AS mean_tone_pakistan,
    n_third_country,
    round(mean_tone_third_country, 3) AS mean_tone_third_country,
    n_unknown,
    round(mean_tone_unknown, 3) AS mean_tone_unknown,
    round(mean_tone_iran - mean_tone_pakistan, 3) AS tone_gap_iran_pakistan,
    CASE
        WHEN n_sides < 2 THEN 'one_side'
        WHEN top_tone > 1 AND bottom_tone < -1 THEN 'opposed'
        WHEN top_tone - bottom_tone >= 3 THEN 'divergent'
        ELSE 'aligned'
    END AS framing,
    outlets
FROM compared
ORDER BY first_day DESC, story_id;
