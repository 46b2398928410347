-- stg_stories: every article with its story key and reporting time.
--   story_key    articles.story_id, or 'hash:' || text_hash when the article has none
--   outlet_name  outlet, else site name, else '(unknown)'
--   reported_at  published_at, else fetched_at (the time the story was out)
-- Staging layer for v_story_clusters and v_story_outlets.
CREATE OR REPLACE VIEW stg_stories AS
SELECT
    article_id,
    coalesce(story_id, 'hash:' || text_hash) AS story_key,
    coalesce(outlet, site_name, '(unknown)') AS outlet_name,
    outlet_country,
    coalesce(published_at, fetched_at) AS reported_at,
    day,
    title,
    url,
    relevant,
    date_trusted
FROM stg_articles;
