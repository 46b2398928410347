-- v_top_entities: actors and places mentioned in relevant articles, most covered first:
-- number of articles and of mentions, last day seen, gazetteer type and coordinates.
CREATE OR REPLACE VIEW v_top_entities AS
SELECT
    entity_id,
    any_value(kind) AS kind,
    any_value(name) AS name,
    any_value(country) AS country,
    any_value(entity_type) AS entity_type,
    any_value(lat) AS lat,
    any_value(lon) AS lon,
    count(DISTINCT article_id) AS n_articles,
    count(*) AS n_mentions,
    max(day) AS last_day
FROM stg_mentions
WHERE relevant
GROUP BY entity_id
ORDER BY n_articles DESC, n_mentions DESC, name;
