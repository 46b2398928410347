-- v_quad_classes_weekly: PLOVER/CAMEO quad class counts per ISO week (signals of relevant
-- articles; signals.quad_class: 'verbal_cooperation', 'material_cooperation',
-- 'verbal_conflict', 'material_conflict'), comparable with GDELT's QuadClass 1-4 and
-- POLECAT's quad codes.  One row per (week, quad_class, direction), plus the week's
-- total per quad class with direction = 'all'.
--   n_signals   signals of that class
--   n_articles  articles they come from
--   mean_tone   their mean tone_score (the Goldstein-like score, -10 .. +10)
--   share       n_signals / all signals of the week in that direction (0 .. 1)
-- Articles with a trusted date only (stg_articles.date_trusted).
CREATE OR REPLACE VIEW v_quad_classes_weekly AS
WITH source AS (
    SELECT week, article_id, coalesce(direction, 'undirected') AS direction, quad_class,
           tone_score
    FROM stg_signals
    WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
        AND quad_class IS NOT NULL
),
counted AS (
    SELECT
        week,
        quad_class,
        coalesce(direction, 'all') AS direction,
        count(*) AS n_signals,
        count(DISTINCT article_id) AS n_articles,
        avg(tone_score) AS mean_tone
    FROM source
    GROUP BY GROUPING SETS ((week, quad_class), (week, quad_class, direction))
)
SELECT
    week,
    quad_class,
    direction,
    n_signals,
    n_articles,
    round(mean_tone, 3) AS mean_tone,
    round(n_signals / sum(n_signals) OVER (PARTITION BY week, direction), 3) AS share
FROM counted
ORDER BY week, direction, quad_class;
