-- stg_mentions: every actor/place mention with its article's day and relevance,
-- and the gazetteer's type and coordinates where the entity is known.  reported_at is
-- the article's published time, else its fetched time.
CREATE OR REPLACE VIEW stg_mentions AS
SELECT
    m.mention_id,
    m.article_id,
    m.entity_id,
    m.kind,
    m.name,
    m.country,
    m.surface,
    m.start,
    m."end",
    m.tagger_version,
    e.type AS entity_type,
    e.lat,
    e.lon,
    a.day,
    a.week,
    coalesce(a.published_at, a.fetched_at) AS reported_at,
    coalesce(a.relevant, FALSE) AS relevant,
    a.date_trusted
FROM mentions AS m
JOIN stg_articles AS a USING (article_id)
LEFT JOIN entities AS e USING (entity_id);
