-- v_signals_daily_by_country: signal counts per day, category and country of the
-- outlet ('PK', 'IR', 'INT', ...; '(unknown)' when the outlet's country is not known),
-- relevant articles only.  Unordered: add ORDER BY.
CREATE OR REPLACE VIEW v_signals_daily_by_country AS
SELECT
    day,
    category,
    coalesce(outlet_country, '(unknown)') AS outlet_country,
    CAST(sum(n_signals) AS BIGINT) AS n_signals,
    count(*) AS n_articles
FROM stg_article_categories
WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
GROUP BY day, category, 3;
