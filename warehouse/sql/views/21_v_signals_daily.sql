-- v_signals_daily: signal counts per day and category, relevant articles only.
--   day        published date of the article (UTC), fetched date when it had none
--   n_signals  signals of that category that day
--   n_articles distinct articles carrying at least one such signal
CREATE OR REPLACE VIEW v_signals_daily AS
SELECT
    day,
    category,
    CAST(sum(n_signals) AS BIGINT) AS n_signals,
    count(*) AS n_articles
FROM stg_article_categories
WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
GROUP BY day, category
ORDER BY day, category;
