-- 0009_article_signal_summary: per article, its signal categories with their signal
-- counts, and its signal total, kept by the load.
--
-- v_relevant_articles shows each article's sorted category list and number of signals.
-- Building those lists at query time means grouping every article_category_counts row
-- (millions) into lists just to show a page of the newest articles; this table holds
-- them, one row per article with signals, so the view is a join of two tables of one
-- row per article.  The trend views read it too (stg_article_categories unnests the
-- two lists): joining one row per article to the articles is cheaper than joining one
-- row per (article, category).  Written by the load in the same transaction as the signals, from
-- article_category_counts (warehouse/load.py, UPSERT_ARTICLE_SIGNAL_SUMMARY); whatever
-- rewrites an article's signals must rewrite its row too (the re-tag does).  An article
-- without signals has no row.
CREATE TABLE IF NOT EXISTS article_signal_summary (
    article_id VARCHAR PRIMARY KEY,           -- -> articles.article_id
    categories VARCHAR[] NOT NULL,            -- its signal categories, sorted, each once
    category_signals INTEGER[] NOT NULL,      -- signals of each of those, in that order
    n_signals  INTEGER NOT NULL               -- its signals, all categories
);

-- Backfill from the per-category counts already stored (a warehouse made before this
-- migration; 0005 filled those from the signals).
INSERT INTO article_signal_summary (article_id, categories, category_signals, n_signals)
SELECT article_id, list(category ORDER BY category), list(n_signals ORDER BY category),
       CAST(sum(n_signals) AS INTEGER)
FROM article_category_counts
GROUP BY article_id
ON CONFLICT DO NOTHING;
