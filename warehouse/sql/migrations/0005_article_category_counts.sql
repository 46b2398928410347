-- 0005_article_category_counts: signals per (article, category), kept by the load.
--
-- The trend views count signals AND distinct articles per day and category; counting
-- distinct articles over every signal row is the slow part of those views at millions
-- of signals.  This table holds the per-article counts, written by the load in the same
-- transaction as the signals (warehouse/load.py, UPSERT_ARTICLE_CATEGORY_COUNTS), so the
-- views add small integers instead.  Whatever writes or deletes signals must refresh
-- the rows of the articles it touched (recount them from signals; the re-tag does).
CREATE TABLE IF NOT EXISTS article_category_counts (
    article_id VARCHAR NOT NULL,              -- -> articles.article_id
    category   VARCHAR NOT NULL,
    n_signals  INTEGER NOT NULL,              -- signals of that category in the article
    PRIMARY KEY (article_id, category)
);

-- Backfill from the signals already stored (a warehouse made before this migration).
INSERT INTO article_category_counts (article_id, category, n_signals)
SELECT article_id, category, count(*)
FROM signals
GROUP BY article_id, category
ON CONFLICT DO NOTHING;
