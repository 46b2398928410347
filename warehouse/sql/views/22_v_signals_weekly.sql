-- v_signals_weekly: as v_signals_daily, per ISO week (week = its Monday).
CREATE OR REPLACE VIEW v_signals_weekly AS
SELECT
    week,
    category,
    CAST(sum(n_signals) AS BIGINT) AS n_signals,
    count(*) AS n_articles
FROM stg_article_categories
WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
GROUP BY week, category
ORDER BY week, category;
