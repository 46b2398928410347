-- stg_article_categories: per (article, category), the number of signals, with the
-- article's day, week, outlet, outlet country and relevance.  Reads the load-maintained
-- table article_category_counts (migration 0005), so the v_signals_* views sum small
-- integers and count rows instead of counting distinct articles over every signal.
CREATE OR REPLACE VIEW stg_article_categories AS
SELECT
    c.article_id,
    c.category,
    c.n_signals,
    a.day,
    a.week,
    a.outlet,
    a.outlet_country,
    coalesce(a.relevant, FALSE) AS relevant
FROM article_category_counts AS c
JOIN stg_articles AS a USING (article_id);
