-- v_framing_weekly: volume and tone of the dyad's coverage in Iranian, Pakistani and
-- third-country outlets per ISO week (relevant articles; outlet side as in
-- stg_story_sides: 'iran', 'pakistan', 'third_country', 'unknown').  One row per (week,
-- outlet_side) with coverage.
--   n_articles / n_stories / n_outlets   volume (syndicated copies: one story)
--   share               n_articles / all relevant articles of the week (0 .. 1)
--   mean_tone           mean article tone_score (-10 conflict .. +10 cooperation)
--   n_cooperation, n_conflict, coop_conflict_index   as in v_cooperation_conflict_daily
--   n_shared_stories    its stories that another side's outlets covered too (any week)
--   mean_tone_shared    its mean tone on those shared stories: the same events as this
--                       side tells them (compare the sides' values in one week)
-- Articles with a trusted date only (stg_articles.date_trusted).
CREATE OR REPLACE VIEW v_framing_weekly AS
WITH by_side AS (
    SELECT CAST(date_trunc('week', day) AS DATE) AS week, *
    FROM stg_story_sides
    WHERE date_trusted  -- trusted dates only
),
shared AS (
    SELECT story_key
    FROM by_side
    WHERE outlet_side <> 'unknown'
    GROUP BY story_key
    HAVING count(DISTINCT outlet_side) >= 2
),
weekly AS (
    SELECT
        week,
        outlet_side,
        count(*) AS n_articles,
        count(DISTINCT story_key) AS n_stories,
        count(DISTINCT outlet_name) AS n_outlets,
        avg(tone_score) AS mean_tone,
        count(*) FILTER (WHERE tone = 'cooperation') AS n_cooperation,
        count(*) FILTER (WHERE tone = 'conflict') AS n_conflict,
        count(DISTINCT story_key) FILTER (WHERE sh.story_key IS NOT NULL) AS n_shared_stories,
        avg(tone_score) FILTER (WHERE sh.story_key IS NOT NULL) AS mean_tone_shared
    FROM by_side
    LEFT JOIN shared AS sh USING (story_key)
    GROUP BY week, outlet_side
)
SELECT
    week,
    outlet_side,
    n_articles,
    n_stories,
    n_outlets,
    round(n_articles / sum(n_articles) OVER (PARTITION BY week), 3) AS share,
    round(mean_tone, 3) AS mean_tone,
    n_cooperation,
    n_conflict,
    round((n_cooperation - n_conflict) / nullif(n_cooperation + n_conflict, 0), 3)
        AS coop_conflict_index,
    n_shared_stories,
    round(mean_tone_shared, 3) AS mean_tone_shared
FROM weekly
ORDER BY week, outlet_side;
