-- v_signals_daily_by_outlet: signal counts per day, category and outlet (relevant
-- articles only), with the outlet's country.
-- Unordered (it is large): add ORDER BY, or better a WHERE on day/outlet first.
--   n_signals   signals of that category that day in that outlet
--   n_articles  distinct articles of that outlet carrying at least one
CREATE OR REPLACE VIEW v_signals_daily_by_outlet AS
SELECT
    day,
    category,
    coalesce(outlet, '(unknown)') AS outlet,
    any_value(outlet_country) AS outlet_country,
    CAST(sum(n_signals) AS BIGINT) AS n_signals,
    count(*) AS n_articles
FROM stg_article_categories
WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
GROUP BY day, category, 3;
