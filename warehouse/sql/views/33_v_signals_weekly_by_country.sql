-- v_signals_weekly_by_country: as v_signals_daily_by_country, per ISO week (its Monday).
-- Unordered: add ORDER BY.
CREATE OR REPLACE VIEW v_signals_weekly_by_country AS
SELECT
    week,
    category,
    coalesce(outlet_country, '(unknown)') AS outlet_country,
    CAST(sum(n_signals) AS BIGINT) AS n_signals,
    count(*) AS n_articles
FROM stg_article_categories
WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
GROUP BY week, category, 3;
