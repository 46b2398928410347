-- v_relevant_articles: articles the tagger judged relevant to the dyad, newest first,
-- without the full text: id, day, outlet, title, url, relevance, tone, word count,
-- the sorted list of signal categories found and the number of signals (both from
-- article_signal_summary, one row per article, which the load keeps: migration 0009).
CREATE OR REPLACE VIEW v_relevant_articles AS
SELECT
    a.article_id,
    a.day,
    a.published_at,
    a.fetched_at,
    a.outlet,
    a.outlet_country,
    a.language,
    a.title,
    a.url,
    a.relevance,
    a.tone_score,
    a.tone,
    a.word_count,
    coalesce(s.categories, []) AS categories,
    CAST(coalesce(s.n_signals, 0) AS BIGINT) AS n_signals,
    a.tagger_version,
    a.batch_id
FROM stg_articles AS a
LEFT JOIN article_signal_summary AS s USING (article_id)
WHERE a.relevant
ORDER BY a.day DESC, a.published_at DESC NULLS LAST, a.article_id;
