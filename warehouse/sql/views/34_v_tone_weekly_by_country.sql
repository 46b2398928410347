-- v_tone_weekly_by_country: how outlets of each country frame the dyad, per ISO week
-- (relevant articles only): article count, mean article tone_score (-10 conflict ..
-- +10 cooperation), articles by overall tone, and the cooperation-conflict index
-- (n_cooperation - n_conflict) / (n_cooperation + n_conflict), NULL if neither.
CREATE OR REPLACE VIEW v_tone_weekly_by_country AS
WITH weekly AS (
    SELECT
        week,
        coalesce(outlet_country, '(unknown)') AS outlet_country,
        count(*) AS n_articles,
        avg(tone_score) AS mean_tone,
        count(*) FILTER (WHERE tone = 'cooperation') AS n_cooperation,
        count(*) FILTER (WHERE tone = 'conflict') AS n_conflict
    FROM stg_articles
    WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
    GROUP BY week, 2
)
SELECT
    week,
    outlet_country,
    n_articles,
    round(mean_tone, 3) AS mean_tone,
    n_cooperation,
    n_conflict,
    round((n_cooperation - n_conflict) / nullif(n_cooperation + n_conflict, 0), 3)
        AS coop_conflict_index
FROM weekly
ORDER BY week, outlet_country;
