-- v_relevant_articles: articles the tagger judged relevant to the dyad, newest first,
-- without the full text: id, day, outlet, title, url, relevance, tone, word count,
-- the sorted list of signal categories found and the number of signals (both from
-- article_category_counts, which the load keeps: migration 0005).
CREATE OR REPLACE VIEW v_relevant_articles AS
WITH relevant AS (
    SELECT * FROM stg_articles WHERE relevant
),
categories AS (
    SELECT
        article_id,
        list_sort(list(category)) AS categories,
        CAST(sum(n_signals) AS BIGINT) AS n_signals
    FROM article_category_counts
    WHERE article_id IN (SELECT article_id FROM relevant)
    GROUP BY article_id
)
SELECT
    r.article_id,
    r.day,
    r.published_at,
    r.fetched_at,
    r.outlet,
    r.outlet_country,
    r.language,
    r.title,
    r.url,
    r.relevance,
    r.tone_score,
    r.tone,
    r.word_count,
    coalesce(c.categories, []) AS categories,
    coalesce(c.n_signals, 0) AS n_signals,
    r.tagger_version,
    r.batch_id
FROM relevant AS r
LEFT JOIN categories AS c USING (article_id)
ORDER BY r.day DESC, r.published_at DESC NULLS LAST, r.article_id;
