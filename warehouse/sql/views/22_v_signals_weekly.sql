-- v_signals_weekly: as v_signals_daily, per ISO week (week = its Monday).
CREATE OR REPLACE VIEW v_signals_weekly AS
SELECT
    week,
    category,
    count(*) AS n_signals,
    count(DISTINCT article_id) AS n_articles
FROM stg_signals
WHERE relevant
GROUP BY week, category
ORDER BY week, category;
