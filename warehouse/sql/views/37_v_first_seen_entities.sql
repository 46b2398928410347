-- v_first_seen_entities: when each actor or place first appeared in relevant coverage,
-- newest first (new names entering the story): the first day, the article, outlet and
-- title that first named it (the earliest published), the surface form used there, how
-- many relevant articles have named it (n_articles) and the last day it was named.
CREATE OR REPLACE VIEW v_first_seen_entities AS
WITH per_entity AS (
    SELECT
        entity_id,
        any_value(kind) AS kind,
        any_value(name) AS name,
        any_value(country) AS country,
        min(day) AS first_day,
        -- the first mention (earliest published, then article id, then offset): its
        -- article and surface form in one pass
        arg_min({'article_id': article_id, 'surface': surface}, (reported_at, article_id, start))
            AS first_mention,
        count(DISTINCT article_id) AS n_articles,
        max(day) AS last_day
    FROM stg_mentions
    WHERE relevant
    GROUP BY entity_id
)
SELECT
    p.entity_id,
    p.kind,
    p.name,
    p.country,
    p.first_day,
    p.first_mention.article_id AS first_article_id,
    a.outlet AS first_outlet,
    a.title AS first_title,
    p.first_mention.surface AS first_surface,
    p.n_articles,
    p.last_day
FROM per_entity AS p
JOIN articles AS a ON a.article_id = p.first_mention.article_id
ORDER BY p.first_day DESC, p.name;
