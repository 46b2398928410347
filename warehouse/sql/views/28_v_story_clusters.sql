-- v_story_clusters: syndicated copies of one story (articles with the same text hash
-- under different URLs), one row per story with more than one copy: how many copies,
-- which outlets, first and last day, and the earliest copy's title and url.
CREATE OR REPLACE VIEW v_story_clusters AS
SELECT
    text_hash AS cluster_id,
    count(*) AS n_copies,
    list_sort(list_distinct(list(coalesce(outlet, site_name, '(unknown)')))) AS outlets,
    min(day) AS first_day,
    max(day) AS last_day,
    arg_min(title, coalesce(published_at, fetched_at)) AS title,
    arg_min(url, coalesce(published_at, fetched_at)) AS first_url,
    bool_or(coalesce(relevant, FALSE)) AS relevant
FROM stg_articles
GROUP BY text_hash
HAVING count(*) > 1
ORDER BY last_day DESC, n_copies DESC;
