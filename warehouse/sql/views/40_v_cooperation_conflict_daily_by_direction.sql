-- v_cooperation_conflict_daily_by_direction: the cooperation-conflict index split by who
-- acts on whom, per day, from the signals of relevant articles (signals.direction:
-- 'IR->PK', 'PK->IR' -- the dyad's codes --, 'joint', 'undirected').  Every calendar day
-- from the first to the last signal, for every direction seen (days without: zeros).
--   n_signals           signals that day in that direction
--   n_articles          articles they come from
--   mean_tone           mean signal tone_score (-10 conflict .. +10 cooperation)
--   n_cooperation       signals with tone_score > 0
--   n_conflict          signals with tone_score < 0
--   coop_conflict_index (n_cooperation - n_conflict) / (n_cooperation + n_conflict),
--                       -1 .. +1; NULL if neither
--   index_7d            the same pooled over the 7 days ending that day
-- Signal-based, unlike v_cooperation_conflict_daily (article tones): an article can
-- carry signals in several directions.  Articles with a trusted date only
-- (stg_articles.date_trusted; v_trend_exclusions counts the others).
CREATE OR REPLACE VIEW v_cooperation_conflict_daily_by_direction AS
WITH source AS (
    SELECT day, article_id, coalesce(direction, 'undirected') AS direction, tone_score
    FROM stg_signals
    WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
),
daily AS (
    SELECT
        day,
        direction,
        count(*) AS n_signals,
        count(DISTINCT article_id) AS n_articles,
        avg(tone_score) AS mean_tone,
        count(*) FILTER (WHERE tone_score > 0) AS n_cooperation,
        count(*) FILTER (WHERE tone_score < 0) AS n_conflict
    FROM source
    GROUP BY day, direction
),
calendar AS (
    SELECT CAST(unnest(generate_series(min(day), max(day), INTERVAL 1 DAY)) AS DATE) AS day
    FROM daily
),
dense AS (
    SELECT
        c.day,
        d.direction,
        coalesce(x.n_signals, 0) AS n_signals,
        coalesce(x.n_articles, 0) AS n_articles,
        x.mean_tone,
        coalesce(x.n_cooperation, 0) AS n_cooperation,
        coalesce(x.n_conflict, 0) AS n_conflict
    FROM calendar AS c
    CROSS JOIN (SELECT DISTINCT direction FROM daily) AS d
    LEFT JOIN daily AS x ON x.day = c.day AND x.direction = d.direction
),
rolling AS (
    SELECT
        *,
        sum(n_cooperation) OVER last_7_days AS coop_7d,
        sum(n_conflict) OVER last_7_days AS conflict_7d
    FROM dense
    WINDOW last_7_days AS (
        PARTITION BY direction ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW
    )
)
SELECT
    day,
    direction,
    n_signals,
    n_articles,
    round(mean_tone, 3) AS mean_tone,
    n_cooperation,
    n_conflict,
    round((n_cooperation - n_conflict) / nullif(n_cooperation + n_conflict, 0), 3)
        AS coop_conflict_index,
    round((coop_7d - conflict_7d) / nullif(coop_7d + conflict_7d, 0), 3) AS index_7d
FROM rolling
ORDER BY day, direction;
