-- v_cooperation_conflict_daily: the tone of the dyad's coverage per day.
--   n_articles          relevant articles that day
--   mean_tone           mean article tone_score (-10 conflict .. +10 cooperation)
--   n_cooperation       articles whose overall tone is 'cooperation'
--   n_conflict          articles whose overall tone is 'conflict'
--   coop_conflict_index (n_cooperation - n_conflict) / (n_cooperation + n_conflict),
--                       from -1 (all conflict) to +1 (all cooperation); NULL if neither
CREATE OR REPLACE VIEW v_cooperation_conflict_daily AS
WITH daily AS (
    SELECT
        day,
        count(*) AS n_articles,
        avg(tone_score) AS mean_tone,
        count(*) FILTER (WHERE tone = 'cooperation') AS n_cooperation,
        count(*) FILTER (WHERE tone = 'conflict') AS n_conflict
    FROM stg_articles
    WHERE relevant
    GROUP BY day
)
SELECT
    day,
    n_articles,
    round(mean_tone, 3) AS mean_tone,
    n_cooperation,
    n_conflict,
    round((n_cooperation - n_conflict) / nullif(n_cooperation + n_conflict, 0), 3)
        AS coop_conflict_index
FROM daily
ORDER BY day;
