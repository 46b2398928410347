-- stg_signals: every signal with its article's day, week, outlet and relevance.
-- Staging layer for the v_signals_* views.
CREATE OR REPLACE VIEW stg_signals AS
SELECT
    s.signal_id,
    s.article_id,
    s.category,
    s.score,
    s.tone_score,
    s.evidence,
    s.start,
    s."end",
    s.cue,
    s.tagger_version,
    a.day,
    a.week,
    a.outlet,
    a.outlet_country,
    coalesce(a.relevant, FALSE) AS relevant
FROM signals AS s
JOIN stg_articles AS a USING (article_id);
