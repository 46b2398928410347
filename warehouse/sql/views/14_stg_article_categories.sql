-- stg_article_categories: per (article, category), the number of signals, with the
-- article's day, week, outlet, outlet country, relevance and date trust.  Reads the
-- load-maintained per-article lists in article_signal_summary (migration 0009; the
-- same counts as article_category_counts, migration 0005), so the v_signals_* views sum
-- small integers and count rows instead of counting distinct articles over every
-- signal, and join one row per article to the articles, not one per (article, category).
CREATE OR REPLACE VIEW stg_article_categories AS
WITH per_article AS (
    SELECT
        a.article_id,
        s.categories,
        s.category_signals,
        a.day,
        a.week,
        a.outlet,
        a.outlet_country,
        coalesce(a.relevant, FALSE) AS relevant,
        a.date_trusted
    FROM article_signal_summary AS s
    JOIN stg_articles AS a USING (article_id)
)
SELECT
    article_id,
    unnest(categories) AS category,
    unnest(category_signals) AS n_signals,
    day,
    week,
    outlet,
    outlet_country,
    relevant,
    date_trusted
FROM per_article;
