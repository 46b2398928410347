-- stg_signals: every signal with its article's day, week, outlet and relevance.
-- direction ('IR->PK', 'PK->IR', 'joint', 'undirected') and quad_class: migration 0007.
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
    s.direction,
    s.quad_class,
    a.day,
    a.week,
    a.outlet,
    a.outlet_country,
    coalesce(a.relevant, FALSE) AS relevant,
    a.date_trusted
FROM signals AS s
JOIN stg_articles AS a USING (article_id);
