-- v_cooperation_conflict_daily: the tone of the dyad's coverage per day, every calendar
-- day from the first to the last relevant article (days without coverage: zeros).
--   n_articles          relevant articles that day
--   mean_tone           mean article tone_score (-10 conflict .. +10 cooperation)
--   n_cooperation       articles whose overall tone is 'cooperation'
--   n_conflict          articles whose overall tone is 'conflict'
--   coop_conflict_index (n_cooperation - n_conflict) / (n_cooperation + n_conflict),
--                       from -1 (all conflict) to +1 (all cooperation); NULL if neither
--   index_7d            the same index pooled over the 7 days ending that day
--                       (counts summed, then divided): the smoothed trend line
--   index_7d_mean       the mean of the daily indexes over those 7 days (days with an
--                       index only); NULL if none of them has one
CREATE OR REPLACE VIEW v_cooperation_conflict_daily AS
WITH daily AS (
    SELECT
        day,
        count(*) AS n_articles,
        avg(tone_score) AS mean_tone,
        count(*) FILTER (WHERE tone = 'cooperation') AS n_cooperation,
        count(*) FILTER (WHERE tone = 'conflict') AS n_conflict
    FROM stg_articles
    WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
    GROUP BY day
),
calendar AS (
    SELECT CAST(unnest(generate_series(min(day), max(day), INTERVAL 1 DAY)) AS DATE) AS day
    FROM daily
),
dense AS (
    SELECT
        c.day,
        coalesce(d.n_articles, 0) AS n_articles,
        d.mean_tone,
        coalesce(d.n_cooperation, 0) AS n_cooperation,
        coalesce(d.n_conflict, 0) AS n_conflict,
        (d.n_cooperation - d.n_conflict) / nullif(d.n_cooperation + d.n_conflict, 0)
            AS coop_conflict_index
    FROM calendar AS c
    LEFT JOIN daily AS d USING (day)
),
rolling AS (
    SELECT
        *,
        sum(n_cooperation) OVER last_7_days AS coop_7d,
        sum(n_conflict) OVER last_7_days AS conflict_7d,
        avg(coop_conflict_index) OVER last_7_days AS index_7d_mean
    FROM dense
    WINDOW last_7_days AS (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
)
SELECT
    day,
    n_articles,
    round(mean_tone, 3) AS mean_tone,
    n_cooperation,
    n_conflict,
    round(coop_conflict_index, 3) AS coop_conflict_index,
    round((coop_7d - conflict_7d) / nullif(coop_7d + conflict_7d, 0), 3) AS index_7d,
    round(index_7d_mean, 3) AS index_7d_mean
FROM rolling
ORDER BY day;
